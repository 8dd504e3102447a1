import Gateway
import MQTT
import Platform
import Vitals
import WatchBoard

extension BedsideGateway {
    /// Subscribes to vitals and alarms (the topic contract's, under `--prefix`, for one bed or
    /// all). On a terminal it draws a board that it redraws in place, one row per chair, like
    /// `top`; piped (or with `--lines`) it prints one line per message: the demo's live view,
    /// and a quick check on a real box that messages arrive.
    static func watch(_ arguments: inout CommandLineArguments) -> Int32 {
        var host = "127.0.0.1"
        var port = 1883
        // Every site and box by default; a box's own prefix narrows it to that box.
        var topics = Topics(prefix: "bedside/+/+")
        var bed = "+"
        var limit: Int?
        var lines = !Terminal.isTerminal(1)
        while let option = arguments.next() {
            switch option {
            case "--host": host = arguments.value(for: option) ?? host
            case "--port": port = arguments.integer(for: option, in: 1...65_535) ?? port
            case "--prefix": topics = Topics(prefix: arguments.value(for: option) ?? topics.prefix)
            case "--bed": bed = arguments.value(for: option) ?? bed
            case "--count": limit = arguments.integer(for: option, in: 1...Int.max)
            case "--lines": lines = true
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
        let wake: WakeUp
        do {
            wake = try WakeUp(purpose: "wake-up of watch")
        } catch {
            log(.error, error.description)
            return 1
        }
        StopSignal.wakes(wake)
        defer { StopSignal.wakes(nil) }
        let received = MessageCounter()
        let board: Locked<BoardState>? = lines ? nil : Locked(BoardState())
        let note = Locked<String?>(nil)
        // Descriptions first: they are retained, and the vitals need their units. The board
        // takes the retained alarm state of each bed; the lines print each alarm event.
        var patterns = [topics.description(bed: bed), topics.vitals(bed: bed)]
        patterns.append(board == nil ? topics.alarmEvents(bed: bed) : topics.alarmState(bed: bed))
        let descriptions = DescriptionBook()
        client.onConnect = { result in
            if !result.accepted {
                report("broker refused the connection: \(result.description)", board: board, note: note, wake: wake)
                return
            }
            for pattern in patterns {
                do throws(MQTTError) { try client.subscribe(pattern, qos: .atLeastOnce) } catch {
                    report(error.description, board: board, note: note, wake: wake)
                }
            }
        }
        client.onMessage = { message in
            let now = MonotonicInstant.now().nanoseconds / 1_000_000
            if Topics.isAlarmEvents(message.topic) {
                printLine("ALARM " + String(decoding: message.payload, as: UTF8.self))
                return
            }
            do throws(VitalsMessageError) {
                if Topics.isDescription(message.topic) {
                    descriptions.add(try decodeBedDescription(message.payload))
                    return
                }
                if let board, message.topic.hasSuffix("/alarms/state") {
                    let problem = board.withLock { state -> BoardError? in
                        do throws(BoardError) { try state.receivedAlarmState(message.payload) } catch { return error }
                        return nil
                    }
                    if let problem { report("\(message.topic): \(problem.description)", board: board, note: note, wake: wake) }
                    wake.signal()
                    return
                }
                switch try descriptions.interpret(message.payload) {
                case .interpreted(let vitals):
                    if let board {
                        board.withLock { $0.received(vitals, at: now) }
                        wake.signal()
                    } else {
                        printLine(formatVitalsLine(vitals))
                    }
                case .unknownDescription(let bed, let revision):
                    if let board {
                        board.withLock { $0.waiting(bed: bed, revision: revision, at: now) }
                        wake.signal()
                    } else {
                        printLine("\(bed): waiting for description \(revision) (its values are not shown without their units)")
                    }
                }
            } catch {
                report("\(message.topic): \(error.description)", board: board, note: note, wake: wake)
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
        if let board {
            drawBoard(board, note: note, wake: wake, title: "bedside-gateway watch  \(host):\(port)  \(topics.prefix)")
        } else {
            while !StopSignal.requested { wake.wait(timeoutMilliseconds: -1) }
        }
        client.stop()
        return 0
    }

    /// A problem: a line of its own when printing lines; on the board, the heading's last
    /// note (a log line would scroll the board away).
    private static func report(_ problem: String, board: Locked<BoardState>?, note: Locked<String?>, wake: WakeUp) {
        if board == nil {
            printLine(problem)
        } else {
            note.withLock { $0 = problem }
            wake.signal()
        }
    }

    /// Draws the board until a stop: on the alternate screen with the cursor hidden, both
    /// restored on the way out (Ctrl-C and SIGTERM end the loop like `--count` does). It
    /// redraws when a message arrives (at most ten times a second), when the window changes
    /// size, and at each whole second so that the ages move.
    private static func drawBoard(_ board: Locked<BoardState>, note: Locked<String?>, wake: WakeUp, title: String) {
        let escape = "\u{1B}["
        Terminal.wakeOnResize(wake)
        Terminal.write(escape + "?1049h" + escape + "?25l" + escape + "H" + escape + "2J")
        var lastDrawn: Int64 = 0
        while !StopSignal.requested {
            wake.drain()
            let clearFirst = Terminal.takeResize()
            let size = Terminal.size(1) ?? (rows: 24, columns: 80)
            let now = MonotonicInstant.now().nanoseconds / 1_000_000
            var heading = title
            if let problem = note.withLock({ $0 }) { heading += "  \u{00B7}  " + problem }
            let lines = board.withLock { BoardLayout.lines($0, now: now, width: size.columns, height: size.rows, title: heading) }
            var frame = (clearFirst ? escape + "2J" : "") + escape + "H"
            for (index, line) in lines.enumerated() {
                frame += BoardANSI.text(line) + escape + "K"
                if index + 1 < lines.count { frame += "\r\n" }
            }
            frame += escape + "J"
            Terminal.write(frame)
            lastDrawn = now
            wake.wait(timeoutMilliseconds: Int(1000 - now % 1000))
            let since = MonotonicInstant.now().nanoseconds / 1_000_000 - lastDrawn
            if since < 100 && !StopSignal.requested { sleep(milliseconds: Int(100 - since)) }
        }
        Terminal.wakeOnResize(nil)
        Terminal.write(escape + "0m" + escape + "?25h" + escape + "?1049l")
    }
}

private final class MessageCounter {
    var count = 0
}
