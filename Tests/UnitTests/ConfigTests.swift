import Testing
@testable import Config

let cases: [String] = [
"",
"# only comments\n",
"---\n",
"site: a\nbox: b\nmqtt:\n  host: h\n  prot: 1\nbeds:\n  - id: c\n    devices:\n      - id: m\n        profile: patient-monitor\n        tcp: {host: x}\n        prot: 3\n",
"site: a\nbox: b\nmqtt:\n  host: h\n  port: 70000\n  keepalive_s: \"30\"\nsampling:\n  interval_ms: fast\nbeds: []\n",
"site: a\nbox: b\nmqtt:\n  port: 1\nbeds:\n  - id: c\n    devices:\n      - id: m\n        tcp:\n          port: 5\n",
"site: a\nbox: b\nmqtt:\n  host:\n  port:\nsampling:\n  interval_ms: 0\nbeds:\n  - id: c\n    devices:\n      - id: m\n        profile: monitorx\n        tcp: {host: x}\n  - id: c\n    devices:\n      - id: m\n        profile: patient-monitor\n        tcp: {host: x}\n",
"site: a/b\nbox: \"\"\nmqtt: [1]\nbeds: x\n",
"site: a\nsite: b\n",
"base: &b {host: x}\nmqtt: *b\n",
"site: [a, b\nbox: c\n",
"site: a\n  box: b\n",
"site: a\n---\nsite: b\n",
"site: \"a\nb\"\n",
"site: a\u{1}\n",
"site: a\nbox: b\nmqtt: {host: h, topic_prefix: a//b, client_id: 'x y'}\nbeds:\n - id: a\n   devices:\n    - {id: d, profile: patient-monitor, tcp: {host: 'a b', port: 99999999999999999999999}}\n",
"site:\ta\n",
"site: a\nbox:\n\t- b\n",
"\u{FEFF}site: a\r\nbox: b\r\nmqtt: x\r\n",
"site: a\nbox: b\nmqtt: {host: h, port: !!str 80}\nbeds:\n - id: a\n   ? [x]\n   : 1\n",
]

@Test func dump() {
    for text in cases {
        print("=== \(text.debugDescription)")
        do { _ = try ConfigLoader.parse(text: text, file: "config.yaml"); print("OK") }
        catch { print(error.description) }
    }
    let deep = String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
    do { _ = try ConfigLoader.parse(text: deep, file: "config.yaml") } catch { print(error.description) }
    do { _ = try ConfigLoader.parse(bytes: [0x73, 0x3a, 0x20, 0xff, 0x0a], file: "config.yaml") } catch { print(error.description) }
    do { _ = try ConfigLoader.load(path: "/nonexistent.yaml") } catch { print(error.description) }
    do { _ = try ConfigLoader.load(path: "/tmp") } catch { print(error.description) }
    do { let c = try ConfigLoader.load(path: "/work/main/Deploy/config/bedside-gateway.yaml"); print(c) } catch { print(error.description) }
}
