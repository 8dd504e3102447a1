import Alarms

/// What the publisher needs of the alarm system: the events and retained states to send, the
/// box's degraded state for the status LED, and the two commands that act on alarms.
/// `AlarmStation` is the one the agent runs; tests stand in for it.
protocol AlarmOutlet: AnyObject {
    /// New events, and the retained state of every bed that changed (bed index, JSON).
    func takeOutgoing() -> (events: [AlarmEvent], states: [(bed: Int, payload: String)])
    /// Marks every bed's retained state for sending again (after a reconnect or a rebirth).
    func republishAllStates()
    /// A device lost or the broker away: shown on the status LED.
    func showDegraded(_ degraded: Bool)
    func pauseAudio()
    /// `by`: who, for the acknowledge events ("command:<issuer>").
    func acknowledge(bed: String, alarm: String?, by: String) throws(AlarmCommandError)
    /// The alarm forwarding link stopped delivering (true) or delivers again (false).
    func showForwardingFault(_ present: Bool)
}

extension AlarmOutlet {
    func showForwardingFault(_ present: Bool) {}
}
