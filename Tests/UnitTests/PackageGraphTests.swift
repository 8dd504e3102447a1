import Foundation
import Testing

/// Package.swift against the sources: every target declares exactly the modules its files
/// import, and the module graph keeps its rule (written at the top of Package.swift).
/// SwiftPM lets a file import a module that only a dependency declares, so without this an
/// undeclared (or a forgotten, unused) dependency goes unnoticed.
struct PackageGraphTests {
    /// Modules from outside the package: the toolchain's; tests may also use Foundation and
    /// Swift Testing (the agent may not: Embedded Swift has neither), and the fuzz targets
    /// libc directly (Glibc: sockets, ptys).
    static let outsideThePackage: Set<String> = ["Synchronization"]
    static let outsideThePackageForTests: Set<String> = ["Foundation", "Testing", "Glibc"]
    static let runtimeModules = ["Modbus", "Acquisition", "MQTT", "StoreAndForward", "Alarms", "Hardware", "Supervision", "MLLP",
                                 "Health", "Commands", "ClinicView"]
    static let parserModules = ["Config", "Profiles", "YAMLReader"]

    struct Target {
        var name: String
        var kind: String
        var dependencies: Set<String>
        var directory: URL
    }

    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The targets of Package.swift: `.target(name: "X", dependencies: [...], path: "...")`
    /// and its kinds, read from the text (the manifest is Swift, not data).
    static func targets() throws -> [Target] {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let declaration = try NSRegularExpression(
            pattern: #"\.(target|executableTarget|testTarget|systemLibrary)\(\s*name:\s*"([^"]+)"(.*?)\)\s*,\s*(?=\.|\]|//)"#,
            options: [.dotMatchesLineSeparators])
        let quoted = try NSRegularExpression(pattern: #""([^"]+)""#)
        var found: [Target] = []
        let whole = NSRange(manifest.startIndex..., in: manifest)
        for match in declaration.matches(in: manifest, range: whole) {
            let kind = String(manifest[Range(match.range(at: 1), in: manifest)!])
            let name = String(manifest[Range(match.range(at: 2), in: manifest)!])
            let rest = String(manifest[Range(match.range(at: 3), in: manifest)!])
            var dependencies: Set<String> = []
            if let open = rest.range(of: "dependencies:"), let list = rest[open.upperBound...].range(of: "["),
               let close = rest[list.upperBound...].range(of: "]") {
                let text = String(rest[list.upperBound..<close.lowerBound])
                for item in quoted.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    dependencies.insert(String(text[Range(item.range(at: 1), in: text)!]))
                }
            }
            var directory = root.appendingPathComponent(kind == "testTarget" ? "Tests" : "Sources").appendingPathComponent(name)
            if let path = rest.range(of: #"path:\s*"([^"]+)""#, options: .regularExpression) {
                let value = rest[path].split(separator: "\"")[1]
                directory = root.appendingPathComponent(String(value))
            }
            found.append(Target(name: name, kind: kind, dependencies: dependencies, directory: directory))
        }
        return found
    }

    /// The modules the Swift files under `directory` import (`import X`, `@testable import X`),
    /// at the start of a line: an indented one is text inside a string (a Python helper).
    static func imports(under directory: URL) throws -> Set<String> {
        let statement = try NSRegularExpression(pattern: #"^(?:@testable\s+)?import\s+(?:(?:struct|class|enum|func|protocol|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)"#,
                                                options: [.anchorsMatchLines])
        var modules: Set<String> = []
        guard let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { return modules }
        for case let file as URL in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in statement.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                modules.insert(String(text[Range(match.range(at: 1), in: text)!]))
            }
        }
        return modules
    }

    @Test func everyTargetDeclaresExactlyWhatItImports() throws {
        let targets = try Self.targets()
        #expect(targets.count >= 30, "Package.swift's targets were not all read: \(targets.map(\.name))")
        for target in targets where target.kind != "systemLibrary" {
            let isTestCode = target.directory.path.hasPrefix(Self.root.appendingPathComponent("Tests").path + "/")
            let imported = try Self.imports(under: target.directory).subtracting(Self.outsideThePackage)
                .subtracting(isTestCode ? Self.outsideThePackageForTests : [])
            let moduleNames = Set(target.dependencies.map { $0.replacingOccurrences(of: "-", with: "_") })
            let undeclared = imported.subtracting(moduleNames).sorted()
            let unused = moduleNames.subtracting(imported).sorted()
            #expect(undeclared.isEmpty, "\(target.name) imports \(undeclared) without declaring them in Package.swift")
            #expect(unused.isEmpty, "\(target.name) declares \(unused) in Package.swift but imports none of them")
        }
    }

    @Test func runtimeModulesNeverDependOnTheParser() throws {
        let targets = try Self.targets()
        for target in targets where Self.runtimeModules.contains(target.name) {
            let parsers = target.dependencies.intersection(Self.parserModules).sorted()
            #expect(parsers.isEmpty, "\(target.name) depends on \(parsers): runtime modules own their settings")
        }
        let hardware = targets.first { $0.name == "Hardware" }
        #expect(hardware != nil && hardware?.dependencies.contains("Alarms") == false)
        let simulator = targets.first { $0.name == "bedside-simulator" }
        #expect(simulator != nil && simulator?.dependencies.contains("Config") == false)
    }

    /// The fuzz targets (Tests/Fuzz) exist only when Deploy/fuzz.sh builds them: declared
    /// inside the manifest's BEDSIDE_FUZZ block, under Tests/Fuzz, each one run by fuzz.sh
    /// (its TARGETS list), so `swift build`, `swift test` and the firmware never see them and
    /// no fuzz target is built but never run.
    @Test func fuzzTargetsAreBuiltOnlyForFuzzingAndAllRun() throws {
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        guard let block = manifest.range(of: #"if Context.environment["BEDSIDE_FUZZ"] == "1" {"#) else {
            Issue.record("Package.swift has no BEDSIDE_FUZZ block")
            return
        }
        let script = try String(contentsOf: Self.root.appendingPathComponent("Deploy/fuzz.sh"), encoding: .utf8)
        guard let list = script.range(of: #"TARGETS=\(([^)]*)\)"#, options: .regularExpression) else {
            Issue.record("Deploy/fuzz.sh has no TARGETS list")
            return
        }
        let listed = Set(script[list].dropFirst("TARGETS=(".count).dropLast().split(whereSeparator: { $0 == " " || $0 == "\n" })
            .map(String.init))
        let fuzzTargets = try Self.targets().filter { $0.name.hasPrefix("fuzz-") }
        #expect(fuzzTargets.count >= 15, "fewer fuzz targets than input paths: \(fuzzTargets.map(\.name))")
        for target in fuzzTargets {
            let declaration = manifest.range(of: #"name: "\#(target.name)""#)
            #expect(declaration != nil && declaration!.lowerBound > block.upperBound,
                    "\(target.name) is declared outside the BEDSIDE_FUZZ block: the ordinary build would see it")
            #expect(target.kind == "executableTarget" && target.dependencies.contains("FuzzSupport"),
                    "\(target.name) is not a libFuzzer executable on FuzzSupport")
            #expect(target.directory.path.hasPrefix(Self.root.appendingPathComponent("Tests/Fuzz").path + "/"),
                    "\(target.name) lives outside Tests/Fuzz")
            #expect(listed.contains(String(target.name.dropFirst("fuzz-".count))),
                    "\(target.name) is built but Deploy/fuzz.sh never runs it (TARGETS)")
        }
        #expect(listed.count == fuzzTargets.count, "Deploy/fuzz.sh lists \(listed.sorted()), Package.swift has \(fuzzTargets.map(\.name))")
    }
}
