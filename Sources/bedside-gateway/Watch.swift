import Gateway
import MQTT
import Platform
import Vitals

extension BedsideGateway {
    /// Subscribes to vitals and alarm events (the topic contract's, under `--prefix`, for one
    /// bed or all) and prints one line per message: the demo's live view, and a quick check on
    /// a real box that messages arrive.
    static func watch(_ arguments: inout CommandLineArguments) -> Int32 {
        var host = "127.0.0.1"
        var port = 1883
        // Every site and box by default; a box's own prefix narrows it to that box.
        var topics = Topics(prefix: "bedside/+/+")
        var bed = "+"
        var limit: Int?
        while let option = arguments.next() {
            switch option {
            case "--host": host = arguments.value(for: option) ?? host
            case "--port": port = arguments.integer(for: option, in: 1...65_535) ?? port
            case "--prefix": topics = Topics(prefix: arguments.value(for: option) ?? topics.prefix)
            case "--bed": bed = arguments.value(for: option) ?? bed
            case "--count": limit = arguments.integer(for: option, in: 1...Int.max)
            default: return arguments.fail("unknown option '\(option)' for watch")
            }
        }
        if let problem = arguments.problem { return arguments.fail(problem) }

        StopSignal.install()
        let client: MQTTClient
        do {
            client = try MQTTClient(clientID: "bedside-watch-\(getProcessID())")
        } catch {
            log(.error, error.description)
            return 1
        }
        let received = MessageCounter()
        // Descriptions first: they are retained, and the vitals lines need their units.
        let patterns = [topics.description(bed: bed), topics.vitals(bed: bed), topics.alarmEvents(bed: bed)]
        let descriptions = DescriptionBook()
        client.onConnect = { result in
            if !result.accepted { log(.warning, "broker refused the connection: \(result.description)"); return }
            // Descriptions, vitals, and the same beds' alarm events as they come.
            for pattern in patterns {
                do throws(MQTTError) { try client.subscribe(pattern, qos: .atLeastOnce) } catch { log(.error, error.description) }
            }
        }
        client.onMessage = { message in
            if Topics.isAlarmEvents(message.topic) {
                printLine("ALARM " + String(decoding: message.payload, as: UTF8.self))
                return
            }
            do throws(VitalsMessageError) {
                if Topics.isDescription(message.topic) {
                    descriptions.add(try decodeBedDescription(message.payload))
                    return
                }
                switch try descriptions.interpret(message.payload) {
                case .interpreted(let vitals):
                    printLine(formatVitalsLine(vitals))
                case .unknownDescription(let bed, let revision):
                    printLine("\(bed): waiting for description \(revision) (its values are not shown without their units)")
                }
            } catch {
                printLine("\(message.topic): \(error.description)")
            }
            received.count += 1
            if let limit, received.count >= limit { StopSignal.request() }
        }
        do {
            try client.start(host: host, port: port, keepaliveSeconds: 30)
        } catch {
            log(.error, error.description)
            return 1
        }
        while !StopSignal.requested { sleep(milliseconds: 100) }
        client.stop()
        return 0
    }
}

private final class MessageCounter {
    var count = 0
}
