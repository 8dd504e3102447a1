import Testing
@testable import Hardware

/// The GPIO character device backend where no chip exists: its error paths.
struct BuzzerGPIOTests {
    @Test func aMissingChipIsATypedErrorNamingChipAndLine() {
        let chip = GPIOChip(path: "/dev/gpiochip99")
        do {
            _ = try chip.requestOutput(line: 17)
            Issue.record("opened a chip that does not exist")
        } catch {
            #expect(error.operation == .openChip)
            #expect(error.chip == "/dev/gpiochip99")
            #expect(error.line == 17)
            #expect(error.errno == .noSuchFileOrDirectory)
            #expect(error.description.contains("/dev/gpiochip99 line 17"))
            print("chardev: \(error)")
        }
        #expect(throws: GPIOError.self) { _ = try chip.requestInput(line: 4, debounceMicroseconds: 10_000) }
    }

    @Test func aFileThatIsNotAChipFailsTheLineRequest() {
        // /dev/null opens but does not answer GPIO_V2_GET_LINE_IOCTL.
        let chip = GPIOChip(path: "/dev/null")
        do {
            _ = try chip.requestOutput(line: 3)
            Issue.record("requested a line on /dev/null")
        } catch {
            #expect(error.operation == .requestOutput)
            #expect(error.description.contains("/dev/null line 3"))
        }
    }
}
