import Foundation
import Testing
import TestSupport

/// `bedside-gateway check --board` as an integrator runs it on the shipped profiles.
@Suite struct BoardCheckTests {
    @Test func everyShippedBoardChecksAndABrokenOneExitsTwo() throws {
        let boards = repositoryRoot().appendingPathComponent("Boards")
        let paths = try FileManager.default.contentsOfDirectory(atPath: boards.path)
            .filter { $0.hasSuffix(".yaml") }.sorted().map { boards.appendingPathComponent($0).path }
        #expect(paths.count == 5)
        let check = try runToCompletion(agentCommand() + ["check", "--board"] + paths)
        #expect(check.status == 0, "\(check.output)")
        for path in paths { #expect(check.output.contains("\(path): ok (board "), "\(check.output)") }

        let directory = try temporaryDirectory("board-check")
        let broken = directory.appendingPathComponent("qemu-virt-aarch64.yaml").path
        let text = try String(contentsOfFile: boards.appendingPathComponent("qemu-virt-aarch64.yaml").path, encoding: .utf8)
        try text.replacingOccurrences(of: "buzzer: {chip: /dev/gpiochip0, line: 0}", with: "buzzer: {chip: /dev/gpiochip0, line: 3}")
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let refused = try runToCompletion(agentCommand() + ["check", "--board", broken])
        #expect(refused.status == 2)
        #expect(refused.output.contains("\(broken):18:40: hardware.buzzer.line: line 3 of /dev/gpiochip0 is reserved on this board"),
                "\(refused.output)")
    }
}
