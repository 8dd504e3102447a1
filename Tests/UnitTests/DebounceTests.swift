import Testing
import Platform
@testable import Hardware

/// The push button's debouncer, fed synthetic edges: no thread, no clock.
struct DebounceTests {
    func at(_ ms: Int) -> MonotonicInstant { MonotonicInstant(nanoseconds: Int64(ms) * 1_000_000) }
    func edge(_ rising: Bool, _ ms: Int) -> GPIOEdgeEvent { GPIOEdgeEvent(rising: rising, time: at(ms)) }

    /// Feeds edges and advances to `end` in 1 ms steps, collecting (time, action).
    func run(_ edges: [GPIOEdgeEvent], until end: Int, debouncer: ButtonDebouncer = ButtonDebouncer()) -> [(Int, ButtonAction)] {
        var d = debouncer
        var out: [(Int, ButtonAction)] = []
        var pending = edges[...]
        for ms in 0...end {
            while let next = pending.first, next.time <= at(ms) {
                if let action = d.handle(next) { out.append((ms, action)) }
                pending = pending.dropFirst()
            }
            if let action = d.advance(to: at(ms)) { out.append((ms, action)) }
        }
        return out
    }

    @Test func aCleanShortPressAcknowledgesOnRelease() {
        let out = run([edge(true, 100), edge(false, 400)], until: 1000)
        #expect(out.map { $0.1 } == [.acknowledge])
        #expect(out.first?.0 == 430)
    }

    @Test func bouncesWithinTheWindowAreIgnored() {
        // Contact bounce on press and on release: one acknowledge.
        let bouncy = [edge(true, 100), edge(false, 103), edge(true, 105), edge(false, 110), edge(true, 112),
                      edge(false, 500), edge(true, 504), edge(false, 509)]
        let out = run(bouncy, until: 1000)
        #expect(out.map { $0.1 } == [.acknowledge])
    }

    @Test func aGlitchShorterThanTheWindowIsNoPress() {
        let out = run([edge(true, 100), edge(false, 120), edge(true, 300), edge(false, 310)], until: 1000)
        #expect(out.isEmpty)
    }

    @Test func aLongPressPausesAudioAtTwoSecondsWhileStillHeld() {
        let out = run([edge(true, 100), edge(false, 3500)], until: 4000)
        #expect(out.map { $0.1 } == [.pauseAudio])
        #expect(out.first?.0 == 2100)
    }

    @Test func justUnderTwoSecondsIsAShortPress() {
        let out = run([edge(true, 100), edge(false, 2099)], until: 3000)
        #expect(out.map { $0.1 } == [.acknowledge])
    }

    @Test func bouncesDuringALongPressDoNotRestartIt() {
        let out = run([edge(true, 0), edge(false, 1000), edge(true, 1004), edge(false, 2600)], until: 3000)
        #expect(out.map { $0.1 } == [.pauseAudio])
        #expect(out.first?.0 == 2000)
    }

    @Test func twoSeparatePressesGiveTwoAcknowledges() {
        let out = run([edge(true, 0), edge(false, 200), edge(true, 600), edge(false, 800)], until: 1500)
        #expect(out.map { $0.1 } == [.acknowledge, .acknowledge])
    }

    @Test func nextDeadlineTellsTheReaderWhenToLookAgain() {
        var d = ButtonDebouncer(debounceMilliseconds: 30, longPressMilliseconds: 2000)
        #expect(d.nextDeadline == nil)
        _ = d.handle(edge(true, 100))
        #expect(d.nextDeadline == at(130))
        #expect(d.advance(to: at(130)) == nil)
        #expect(d.pressed)
        #expect(d.nextDeadline == at(2100))
        #expect(d.advance(to: at(2100)) == .pauseAudio)
        #expect(d.nextDeadline == nil)
    }

    @Test func theReaderTurnsInjectedEdgesIntoAnAction() throws {
        let line = ScriptedInputLine()
        let reader = ButtonReader(input: line, debouncer: ButtonDebouncer(debounceMilliseconds: 20), maximumWaitMilliseconds: 50)
        let now = MonotonicInstant.now()
        line.inject(GPIOEdgeEvent(rising: true, time: now))
        line.inject(GPIOEdgeEvent(rising: false, time: now.adding(milliseconds: 2)))
        line.inject(GPIOEdgeEvent(rising: true, time: now.adding(milliseconds: 4)))
        line.inject(GPIOEdgeEvent(rising: false, time: now.adding(milliseconds: 100)))
        var actions: [ButtonAction] = []
        for _ in 0..<20 { if let action = try reader.poll() { actions.append(action) } }
        #expect(actions == [.acknowledge])
    }

    @Test func statusLEDBlinksAndWritesOnlyChanges() throws {
        let line = RecordingOutputLine()
        let led = StatusLED(output: line, state: .blink(periodMilliseconds: 1000))
        for ms in stride(from: 0, to: 2000, by: 100) { try led.refresh(at: at(ms)) }
        #expect(line.calls.map { $0.active } == [true, false, true, false])
        led.state = .on
        try led.refresh(at: at(2600))
        #expect(line.isActive)
    }

    @Test func aBlinkingLEDSaysWhenItsLevelChangesNext() {
        let blink = LEDState.blink(periodMilliseconds: 1000)
        #expect(blink.nextChange(after: at(0)) == at(500))
        #expect(blink.nextChange(after: at(499)) == at(500))
        #expect(blink.nextChange(after: at(500)) == at(1000))
        #expect(blink.nextChange(after: at(1750)) == at(2000))
        #expect(blink.level(at: at(499)) != blink.level(at: at(500)))
        #expect(LEDState.on.nextChange(after: at(0)) == nil)
        #expect(LEDState.off.nextChange(after: at(0)) == nil)
    }
}
