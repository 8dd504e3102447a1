// Alarms: being built (issue 5).
