// Supervision: being built (issue 5).
