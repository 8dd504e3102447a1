import Alarms
import Commands
import MQTT
import Platform
import Sessions

extension Publisher {
    /// Decides on a command from the command topic, carries it out if it is accepted, and
    /// answers on the response topic either way. A refused command changes nothing.
    func execute(commandPayload payload: [UInt8]) {
        var decision = commandIntake.decide(payload, bedIDs: settings.bedIDs, clock: commandClock())
        if case .accepted(let command) = decision, let refusal = carryOut(command) {
            decision = .refused(CommandRefusal(command, reason: refusal))
        }
        switch decision {
        case .accepted(let command):
            commandsAccepted += 1
            log(.info, "command \(command.id) (\(command.kind.name)) from \(command.issuer) accepted")
        case .refused(let refusal):
            commandsRefused += 1
            log(.warning, "command \(refusal.id ?? "without a readable id") refused: \(refusal.reason)")
        }
        let response = encodeCommandResponse(decision, wallClockMilliseconds: clock.wallMilliseconds())
        do throws(MQTTError) {
            try sink.publish(topic: topics.responses, payload: response, qos: .atLeastOnce)
        } catch {
            log(.warning, "cannot answer on \(topics.responses): \(error.description)")
        }
    }

    /// The wall clock now and how far off the kernel says it may be: a command's issue time is
    /// judged against both.
    private func commandClock() -> CommandClock {
        var error = CommandClock.unsynchronisedErrorMilliseconds
        if let synchronisation = try? ClockSynchronisation.read(), synchronisation.synchronised {
            error = synchronisation.maximumErrorMicroseconds / 1000
        }
        return CommandClock(nowMilliseconds: clock.wallMilliseconds(), errorMilliseconds: error)
    }

    /// Returns why an authorised, well-formed command still cannot be carried out, or nil.
    private func carryOut(_ command: Command) -> String? {
        switch command.kind {
        case .rebirth:
            publishRetainedState()
            return nil
        case .pauseAudio:
            alarms.pauseAudio()
            return nil
        case .sessionStart, .sessionEnd:
            guard let sessions, let bed = settings.bedIDs.firstIndex(of: command.bed ?? "") else {
                return "infusion sessions are not recorded on this box"
            }
            let wall = clock.wallMilliseconds()
            do throws(SessionCommandError) {
                let changes = command.kind == .sessionStart
                    ? try sessions.recorders[bed].startByCommand(issuer: command.issuer, at: wall)
                    : try sessions.recorders[bed].endByCommand(issuer: command.issuer, at: wall)
                takeSessionChanges(changes, bed: bed, wallMilliseconds: wall)
                return nil
            } catch {
                return error.description
            }
        case .acknowledgeAlarm:
            do throws(AlarmCommandError) {
                try alarms.acknowledge(bed: command.bed ?? "", alarm: command.alarm, by: "command:" + command.issuer)
                return nil
            } catch {
                return error.description
            }
        }
    }
}
