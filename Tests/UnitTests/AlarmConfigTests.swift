import Foundation
import Testing
@testable import Config
import Supervision
import Profiles
import Alarms

/// The `alarms:` sections (box-wide and per bed) and `hardware:`.
struct AlarmConfigTests {
    /// Lines 1-8; a top-level section appended to it starts on line 9.
    static let base = PublishingConfigTests.base

    /// The base with `lines` (already indented for a bed's keys) as the first bed's own settings,
    /// starting on line 7.
    static func withBedSettings(_ lines: String, base: String = AlarmConfigTests.base) -> String {
        precondition(base.contains("  - id: chair-1\n"))
        return base.replacingOccurrences(of: "  - id: chair-1\n", with: "  - id: chair-1\n" + lines)
    }

    static let secondBed = """
          - id: chair-2
            devices:
              - { id: monitor-2, profile: patient-monitor, tcp: { host: 10.0.0.6 } }

        """

    static let conditions = "spo2-low, spo2-desat, pr-low, pr-high, hr-low, hr-high, nibp-sys-low, nibp-sys-high, "
        + "nibp-dia-low, nibp-dia-high, nibp-mean-low, nibp-mean-high, rr-low, rr-high, apnea, etco2-low, etco2-high"

    // MARK: Alarms

    @Test func withoutTheSectionsEverythingIsTodaysDefault() throws {
        let config = try ConfigLoader.parse(text: Self.base, file: "config.yaml")
        #expect(config.alarms == AlarmSettings())
        #expect(config.alarms.logPath == "/var/lib/bedside-gateway/alarms.log")
        #expect(config.hardware == HardwareSettings())
        #expect(config.beds[0].alarms == BedAlarmSettings())
        // Sections with every line commented out are the defaults too.
        let empty = try ConfigLoader.parse(text: Self.withBedSettings("    alarms:\n") + "alarms:\nhardware:\n", file: "config.yaml")
        #expect(empty.alarms == AlarmSettings())
        #expect(empty.hardware == HardwareSettings())
        #expect(empty.beds[0].alarms == BedAlarmSettings())
        let emptyMembers = try ConfigLoader.parse(text: Self.base + """
            alarms:
              limits:
                spo2-low:
              technical:
            hardware:
              buzzer_timing:
                high:
              watchdog:

            """, file: "config.yaml")
        #expect(emptyMembers.alarms == AlarmSettings())
        #expect(emptyMembers.hardware == HardwareSettings(watchdog: WatchdogSettings()))
    }

    /// Without `alarms.log`, the log sits next to the queue directory: the box's state directory.
    @Test func theAlarmLogDefaultsToTheQueuesStateDirectory() throws {
        let config = try ConfigLoader.parse(text: Self.base + "queue: { directory: /srv/bedside/state/queue/ }\n",
                                            file: "/etc/bedside/config.yaml")
        #expect(config.alarms.logPath == "/srv/bedside/state/alarms.log")
        let relative = try ConfigLoader.parse(text: Self.base + "queue: { directory: ../state/queue }\n",
                                              file: "/etc/bedside/config.yaml")
        #expect(relative.alarms.logPath == "/etc/bedside/../state/alarms.log")
        let explicit = try ConfigLoader.parse(text: Self.base + "queue: { directory: /q }\nalarms: { log: /var/log/alarms.log }\n",
                                              file: "/etc/bedside/config.yaml")
        #expect(explicit.alarms.logPath == "/var/log/alarms.log")
        #expect(ConfigDecoder.siblingPath(of: "/queue", named: "alarms.log") == "/alarms.log")
    }

    @Test func boxWideChangesReachEveryBed() throws {
        let text = Self.base + Self.secondBed + """
            alarms:
              log: state/alarms.log
              escalate_after_s: 120
              limits:
                spo2-low: {threshold: 88.5, priority: medium, delay_s: 10}
                rr-high: {enabled: false}
                etco2-high:
                  threshold: 55
                  enabled: true

            """
        let config = try ConfigLoader.parse(text: text, file: "/etc/bedside-gateway/gateway.yaml")
        #expect(config.alarms.logPath == "/etc/bedside-gateway/state/alarms.log")
        var expected = BedAlarmSettings()
        expected.escalateAfterMilliseconds = 120_000
        expected.setLimit(LimitRule(condition: "spo2-low", point: "spo2", .below, 88.5, priority: .medium, delayMilliseconds: 10_000))
        expected.setLimit(LimitRule(condition: "rr-high", point: "respiratory_rate", .above, 30, priority: .medium,
                                    delayMilliseconds: 1000, enabled: false))
        expected.setLimit(LimitRule(condition: "etco2-high", point: "etco2", .above, 55, priority: .medium, delayMilliseconds: 1000))
        #expect(config.alarms.defaults == expected)
        // The order of the rules stays that of the defaults.
        #expect(config.alarms.defaults.limits.map(\.condition) == BedAlarmSettings.defaultLimits.map(\.condition))
        #expect(config.beds.map(\.alarms) == [expected, expected])

        let absolute = try ConfigLoader.parse(text: Self.base + "alarms: {log: /data/alarms.log}\n", file: "/etc/gw/gateway.yaml")
        #expect(absolute.alarms == AlarmSettings(logPath: "/data/alarms.log"))
    }

    @Test func aBedChangesTheBoxWideSettingsMemberByMember() throws {
        let box = Self.base + Self.secondBed + """
            alarms:
              escalate_after_s: 90
              limits:
                spo2-low: {threshold: 88, priority: medium, delay_s: 5}
              technical:
                monitor_comm_loss: high
                nibp_stale_after_s: 600

            """
        let text = Self.withBedSettings("""
                alarms:
                  escalate_after_s: 30
                  limits: {spo2-low: {threshold: 92}, hr-high: {priority: high}}
                  technical: {pump_comm_loss: medium}

            """, base: box)
        let config = try ConfigLoader.parse(text: text, file: "config.yaml")
        let boxWide = config.alarms.defaults
        #expect(boxWide.escalateAfterMilliseconds == 90_000)
        #expect(boxWide.limit("spo2-low") == LimitRule(condition: "spo2-low", point: "spo2", .below, 88, priority: .medium,
                                                         delayMilliseconds: 5000))
        let chair1 = config.beds[0].alarms
        // Only the threshold changes: the box's priority and delay stay.
        #expect(chair1.limit("spo2-low") == LimitRule(condition: "spo2-low", point: "spo2", .below, 92, priority: .medium,
                                                       delayMilliseconds: 5000))
        #expect(chair1.limit("hr-high") == LimitRule(condition: "hr-high", point: "heart_rate", .above, 120, priority: .high,
                                                      delayMilliseconds: 1000))
        #expect(chair1.escalateAfterMilliseconds == 30_000)
        #expect(chair1.technical.pumpCommLoss == .medium)
        #expect(chair1.technical.monitorCommLoss == .high)
        #expect(chair1.technical.nibpStaleAfterMilliseconds == 600_000)
        var others = chair1
        others.setLimit(boxWide.limit("spo2-low")!)
        others.setLimit(boxWide.limit("hr-high")!)
        others.escalateAfterMilliseconds = boxWide.escalateAfterMilliseconds
        others.technical.pumpCommLoss = boxWide.technical.pumpCommLoss
        #expect(others == boxWide, "nothing else of the bed differs from the box")
        #expect(config.beds[1].alarms == boxWide)
    }

    @Test func everyTechnicalPriorityIsRead() throws {
        let text = Self.base + """
            alarms:
              technical:
                monitor_comm_loss: high
                pump_comm_loss: medium
                other_comm_loss: medium
                spo2_sensor_off: high
                other_sensor_off: medium
                nibp_stale: medium
                nibp_stale_after_s: 60
                pump_occlusion: high
                pump_air_in_line: low
                agent_fault: high
                sensor_off_delay_ms: 0

            """
        let technical = try ConfigLoader.parse(text: text, file: "config.yaml").alarms.defaults.technical
        var expected = TechnicalAlarmSettings()
        expected.monitorCommLoss = .high
        expected.pumpCommLoss = .medium
        expected.otherCommLoss = .medium
        expected.spo2SensorOff = .high
        expected.otherSensorOff = .medium
        expected.nibpStale = .medium
        expected.nibpStaleAfterMilliseconds = 60_000
        expected.pumpOcclusion = .high
        expected.pumpAirInLine = .low
        expected.agentFault = .high
        expected.sensorOffDelayMilliseconds = 0
        #expect(technical == expected)
    }

    @Test func alarmMistakesNameTheirPositionAndKey() {
        let cases: [(String, String)] = [
            ("alarms: {limits: {spo2-high: {threshold: 99}}}\n",
             "config.yaml:9:19: alarms.limits.spo2-high: unknown key (expected one of: \(Self.conditions))"),
            ("alarms: {limits: {spo2-low: {threshold: low}}}\n",
             "config.yaml:9:41: alarms.limits.spo2-low.threshold: expected a number, found \"low\""),
            ("alarms: {limits: {spo2-low: {threshold: \"88\"}}}\n",
             "config.yaml:9:41: alarms.limits.spo2-low.threshold: expected a number, found a quoted string \"88\" (write numbers without quotes)"),
            ("alarms: {limits: {spo2-low: {threshold: [88]}}}\n",
             "config.yaml:9:41: alarms.limits.spo2-low.threshold: expected a number, found a list"),
            ("alarms: {limits: {spo2-low: {threshold: }}}\n",
             "config.yaml:9:30: alarms.limits.spo2-low.threshold: missing value (expected a number; remove the line to use the default, 90)"),
            ("alarms: {limits: {pr-low: {delay_s: 121}}}\n",
             "config.yaml:9:37: alarms.limits.pr-low.delay_s: 121 is out of range (0...120)"),
            ("alarms: {limits: {pr-low: {delay_s: 1.5}}}\n",
             "config.yaml:9:37: alarms.limits.pr-low.delay_s: expected an integer, found \"1.5\""),
            ("alarms: {limits: {pr-low: {delay_ms: 1500}}}\n",
             "config.yaml:9:28: alarms.limits.pr-low.delay_ms: unknown key (expected one of: threshold, priority, delay_s, enabled)"),
            ("alarms: {limits: {apnea: {priority: urgent}}}\n",
             "config.yaml:9:37: alarms.limits.apnea.priority: unknown alarm priority \"urgent\" (expected one of: high, medium, low)"),
            ("alarms: {limits: {apnea: {enabled: no}}}\n",
             "config.yaml:9:36: alarms.limits.apnea.enabled: expected true or false, found \"no\""),
            ("alarms: {limits: [spo2-low]}\n",
             "config.yaml:9:18: alarms.limits: expected a mapping of alarm limits by condition (\(Self.conditions)), found a list"),
            ("alarms: {escalate_after_s: 0}\n", "config.yaml:9:28: alarms.escalate_after_s: 0 is out of range (1...3600)"),
            ("alarms: {escalate_after_s: 3601}\n", "config.yaml:9:28: alarms.escalate_after_s: 3601 is out of range (1...3600)"),
            ("alarms: {technical: {monitor_comm_loss: critical}}\n",
             "config.yaml:9:41: alarms.technical.monitor_comm_loss: unknown alarm priority \"critical\" (expected one of: high, medium, low)"),
            ("alarms: {technical: {nibp_stale_after_s: 30}}\n",
             "config.yaml:9:42: alarms.technical.nibp_stale_after_s: 30 is out of range (60...3600)"),
            ("alarms: {technical: {sensor_off_delay_ms: 60001}}\n",
             "config.yaml:9:43: alarms.technical.sensor_off_delay_ms: 60001 is out of range (0...60000)"),
            ("alarms: {technical: {apnea: high}}\n",
             "config.yaml:9:22: alarms.technical.apnea: unknown key (expected one of: monitor_comm_loss, pump_comm_loss, other_comm_loss, spo2_sensor_off, other_sensor_off, nibp_stale, nibp_stale_after_s, pump_occlusion, pump_air_in_line, agent_fault, sensor_off_delay_ms)"),
            ("alarms: {log: \"/var/lib/my alarms.log\"}\n",
             "config.yaml:9:15: alarms.log: invalid path \"/var/lib/my alarms.log\" (contains a space): expected the path of the alarm log file, without spaces"),
            ("alarms: {log: \"\"}\n", "config.yaml:9:15: alarms.log: the path is empty (expected the path of the alarm log file)"),
            ("alarms: {limit: {}}\n",
             "config.yaml:9:10: alarms.limit: unknown key (expected one of: log, escalate_after_s, limits, technical, forward)"),
            ("alarms: on\n",
             "config.yaml:9:9: alarms: expected a mapping with the alarm settings (log, escalate_after_s, limits, technical, forward), found \"on\""),
        ]
        for (addition, expected) in cases {
            #expect(renderedErrors(Self.base + addition) == [expected], "\(addition)")
        }
    }

    @Test func crossingLimitsAreRefusedAfterMerging() throws {
        let crossing = "alarm limit hr-low is not below hr-high (hr-low 130, hr-high 120): "
            + "a low limit at or above the high limit of the same value would alarm all the time or never"
        #expect(renderedErrors(Self.base + "alarms:\n  limits:\n    hr-low: {threshold: 130}\n")
                == ["config.yaml:10:3: alarms.limits: \(crossing)"])
        // Equal is crossing too; decimals are shown as written.
        #expect(renderedErrors(Self.base + "alarms: {limits: {rr-low: {threshold: 30}, rr-high: {threshold: 30}}}\n")
                == ["config.yaml:9:10: alarms.limits: alarm limit rr-low is not below rr-high (rr-low 30, rr-high 30): "
                    + "a low limit at or above the high limit of the same value would alarm all the time or never"])
        #expect(renderedErrors(Self.base + "alarms: {limits: {etco2-low: {threshold: 50.25}}}\n")
                == ["config.yaml:9:10: alarms.limits: alarm limit etco2-low is not below etco2-high (etco2-low 50.25, etco2-high 50): "
                    + "a low limit at or above the high limit of the same value would alarm all the time or never"])
        // A high SpO2 low limit crosses nothing; a disabled high limit cannot be crossed.
        let fine = try ConfigLoader.parse(text: Self.base + """
            alarms:
              limits:
                spo2-low: {threshold: 95}
                hr-low: {threshold: 130}
                hr-high: {enabled: false}

            """, file: "config.yaml")
        #expect(fine.alarms.defaults.limit("spo2-low")?.threshold == 95)
        #expect(fine.alarms.defaults.limit("hr-low")?.threshold == 130)
        // A bed's change crossing the box-wide limit: reported at the bed's limits.
        let box = Self.base + "alarms: {limits: {hr-high: {threshold: 100}}}\n"
        let bed = Self.withBedSettings("    alarms:\n      limits: {hr-low: {threshold: 110}}\n", base: box)
        #expect(renderedErrors(bed) == ["config.yaml:8:7: beds[0].alarms.limits: alarm limit hr-low is not below hr-high "
                                        + "(hr-low 110, hr-high 100): a low limit at or above the high limit of the same value "
                                        + "would alarm all the time or never"])
    }

    @Test func theAlarmLogIsBoxWide() {
        let text = Self.withBedSettings("    alarms:\n      log: /tmp/chair-1.log\n      escalate_after_s: 30\n")
        #expect(renderedErrors(text) == [
            "config.yaml:8:7: beds[0].alarms.log: the alarm log is box-wide: set it under the top-level 'alarms:' section, not per bed",
        ])
        let unknown = Self.withBedSettings("    alarms: {escalate_after: 30}\n")
        #expect(renderedErrors(unknown) == [
            "config.yaml:7:14: beds[0].alarms.escalate_after: unknown key (expected one of: escalate_after_s, limits, technical)",
        ])
        // Mistakes in a bed's section are found even when the box-wide section has its own.
        let both = Self.withBedSettings("    alarms: {limits: {spo2-low: {delay_s: -1}}}\n",
                                        base: Self.base + "alarms: {escalate_after_s: 0}\n")
        #expect(renderedErrors(both) == [
            "config.yaml:7:43: beds[0].alarms.limits.spo2-low.delay_s: -1 is out of range (0...120)",
            "config.yaml:10:28: alarms.escalate_after_s: 0 is out of range (1...3600)",
        ])
    }

    // MARK: Hardware

    @Test func gpioLinesAndTheirDevelopmentStandIns() throws {
        let chips = try ConfigLoader.parse(text: Self.base + """
            hardware:
              buzzer: {chip: /dev/gpiochip0, line: 17, active_low: false}
              button: {chip: /dev/gpiochip0, line: 27, active_low: true}
              status_led: {chip: /dev/gpiochip1, line: 17}
              watchdog: {device: /dev/watchdog1, timeout_s: 15}

            """, file: "config.yaml")
        #expect(chips.hardware == HardwareSettings(buzzer: .chip(path: "/dev/gpiochip0", line: 17, activeLow: false),
                                                   button: .chip(path: "/dev/gpiochip0", line: 27, activeLow: true),
                                                   statusLED: .chip(path: "/dev/gpiochip1", line: 17, activeLow: false),
                                                   watchdog: WatchdogSettings(device: "/dev/watchdog1", timeoutSeconds: 15)))
        let files = try ConfigLoader.parse(text: Self.base + """
            hardware:
              buzzer: {record_to: buzzer.edges}
              button: {fifo: /tmp/button.fifo}
              status_led: {record_to: /tmp/led.edges}
              watchdog: {}

            """, file: "/srv/gateway/config.yaml")
        #expect(files.hardware == HardwareSettings(buzzer: .recordingFile("/srv/gateway/buzzer.edges"),
                                                   button: .fifo("/tmp/button.fifo"),
                                                   statusLED: .recordingFile("/tmp/led.edges"),
                                                   watchdog: WatchdogSettings(device: "/dev/watchdog", timeoutSeconds: nil)))
        let edges = try ConfigLoader.parse(text: Self.base + "hardware: {buzzer: {chip: /dev/gpiochip3, line: 1023}, button: {chip: /dev/gpiochip3, line: 0}}\n",
                                           file: "config.yaml")
        #expect(edges.hardware.buzzer == .chip(path: "/dev/gpiochip3", line: 1023, activeLow: false))
        #expect(edges.hardware.button == .chip(path: "/dev/gpiochip3", line: 0, activeLow: false))
        #expect(edges.hardware.statusLED == nil && edges.hardware.watchdog == nil)
    }

    @Test func hardwareMistakesNameTheirPositionAndKey() {
        let cases: [(String, [String])] = [
            ("hardware: {buzzer: {fifo: /tmp/buzzer.fifo}}\n", [
                "config.yaml:9:21: hardware.buzzer.fifo: 'fifo' is for inputs (the button); an output such as the buzzer records its levels to a file on development boxes: use 'record_to'",
            ]),
            ("hardware: {status_led: {fifo: /tmp/led}}\n", [
                "config.yaml:9:25: hardware.status_led.fifo: 'fifo' is for inputs (the button); an output such as the status LED records its levels to a file on development boxes: use 'record_to'",
            ]),
            ("hardware: {button: {record_to: /tmp/button.edges}}\n", [
                "config.yaml:9:21: hardware.button.record_to: 'record_to' is for outputs (buzzer, status_led); an input such as the button reads a FIFO on development boxes: use 'fifo'",
            ]),
            ("hardware: {buzzer: {chip: /dev/gpiochip0, line: 17, record_to: /tmp/b}}\n", [
                "config.yaml:9:53: hardware.buzzer.record_to: the buzzer is either a GPIO line ('chip' and 'line') or a development file ('record_to'), not both; remove one",
            ]),
            ("hardware: {buzzer: {active_low: true}}\n", [
                "config.yaml:9:20: hardware.buzzer: missing required key 'chip' (a GPIO character device such as /dev/gpiochip0, with 'line') or 'record_to' (a file that records every level, on development boxes)",
            ]),
            ("hardware: {button: {}}\n", [
                "config.yaml:9:20: hardware.button: missing required key 'chip' (a GPIO character device such as /dev/gpiochip0, with 'line') or 'fifo' (a FIFO to read \"1\" and \"0\" lines from, on development boxes)",
            ]),
            ("hardware: {buzzer: {chip: /dev/gpiochip0}}\n", ["config.yaml:9:20: hardware.buzzer: missing required key 'line'"]),
            ("hardware: {buzzer: {chip: gpiochip0, line: 17}}\n", [
                "config.yaml:9:27: hardware.buzzer.chip: invalid GPIO chip \"gpiochip0\": expected a GPIO character device such as /dev/gpiochip0",
            ]),
            ("hardware: {buzzer: {chip: /dev/, line: 17}}\n", [
                "config.yaml:9:27: hardware.buzzer.chip: invalid GPIO chip \"/dev/\": expected a GPIO character device such as /dev/gpiochip0",
            ]),
            ("hardware: {buzzer: {chip: /dev/gpiochip0, line: 1024}}\n",
             ["config.yaml:9:49: hardware.buzzer.line: 1024 is out of range (0...1023)"]),
            ("hardware: {buzzer: {chip: /dev/gpiochip0, line: -1}}\n",
             ["config.yaml:9:49: hardware.buzzer.line: -1 is out of range (0...1023)"]),
            ("hardware: {buzzer: {chip: /dev/gpiochip0, line: 17, active_low: 1}}\n",
             ["config.yaml:9:65: hardware.buzzer.active_low: expected true or false, found \"1\""]),
            ("hardware: {buzzer: {record_to: /tmp/b, line: 17}}\n",
             ["config.yaml:9:40: hardware.buzzer.line: 'line' applies only with 'chip' (a GPIO line), not with 'record_to'"]),
            ("hardware: {button: {fifo: /tmp/b, active_low: true}}\n",
             ["config.yaml:9:35: hardware.button.active_low: 'active_low' applies only with 'chip' (a GPIO line), not with 'fifo'"]),
            ("hardware: {buzzer: {record_to: \"\"}}\n",
             ["config.yaml:9:32: hardware.buzzer.record_to: the path is empty (expected the path of the recording file)"]),
            ("hardware: {buzzer: /dev/gpiochip0}\n", [
                "config.yaml:9:20: hardware.buzzer: expected a mapping with the buzzer's GPIO line (chip, line, active_low) or record_to, found \"/dev/gpiochip0\"",
            ]),
            ("hardware:\n  buzzer:\n", [
                "config.yaml:10:3: hardware.buzzer: missing value (expected a mapping with the buzzer's GPIO line (chip, line, active_low) or record_to)",
            ]),
            ("hardware: {speaker: {}}\n", [
                "config.yaml:9:12: hardware.speaker: unknown key (expected one of: buzzer, button, status_led, buzzer_timing, watchdog)",
            ]),
            ("hardware: {watchdog: {timeout_s: 0}}\n", ["config.yaml:9:34: hardware.watchdog.timeout_s: 0 is out of range (1...600)"]),
            ("hardware: {watchdog: {timeout_s: 601}}\n", ["config.yaml:9:34: hardware.watchdog.timeout_s: 601 is out of range (1...600)"]),
            ("hardware: {watchdog: {timeout_s: }}\n", [
                "config.yaml:9:23: hardware.watchdog.timeout_s: missing value (expected an integer; remove the line to use the default, the driver's own)",
            ]),
            ("hardware: {watchdog: {device: watchdog}}\n", [
                "config.yaml:9:31: hardware.watchdog.device: invalid watchdog device \"watchdog\": expected an absolute path such as /dev/watchdog",
            ]),
        ]
        for (addition, expected) in cases {
            #expect(renderedErrors(Self.base + addition) == expected, "\(addition)")
        }
    }

    @Test func twoDevicesOnOneLineAreRefused() {
        let text = Self.base + """
            hardware:
              buzzer: {chip: /dev/gpiochip0, line: 17}
              button: {chip: /dev/gpiochip1, line: 17}
              status_led: {chip: /dev/gpiochip0, line: 17, active_low: true}

            """
        #expect(renderedErrors(text) == [
            "config.yaml:12:44: hardware.status_led.line: GPIO line 17 of /dev/gpiochip0 is already used by hardware.buzzer (line 10); "
                + "the buzzer, the button and the status LED each need their own",
        ])
        let files = Self.base + "hardware:\n  buzzer: {record_to: /tmp/edges}\n  status_led: {record_to: /tmp/edges}\n"
        #expect(renderedErrors(files) == [
            "config.yaml:11:27: hardware.status_led.record_to: the file \"/tmp/edges\" is already used by hardware.buzzer (line 10); "
                + "the buzzer, the button and the status LED each need their own",
        ])
    }

    @Test func buzzerTimingIsCheckedAgainstTheStandard() throws {
        let changed = try ConfigLoader.parse(text: Self.base + """
            hardware:
              buzzer_timing:
                high: {pulse_ms: 100, spacing_ms: 75, group_gap_ms: 400, interburst_ms: 4000}
                medium: {interburst_ms: 10000}
                low: {pulses: 1, interburst_ms: 20000}

            """, file: "config.yaml")
        var expected = SignalTiming()
        expected.high = BurstTiming(pulseMilliseconds: 100, spacingMilliseconds: 75, groupGapMilliseconds: 400,
                                    interburstMilliseconds: 4000, pulseCount: 10)
        expected.medium.interburstMilliseconds = 10_000
        expected.low.pulseCount = 1
        expected.low.interburstMilliseconds = 20_000
        #expect(changed.hardware.buzzerTiming == expected)

        let outside = Self.base + """
            hardware:
              buzzer_timing:
                high: {pulse_ms: 500}
                low:
                  spacing_ms: 100
                  interburst_ms: 15000

            """
        #expect(renderedErrors(outside) == [
            "config.yaml:11:22: hardware.buzzer_timing.high.pulse_ms: high pulseMilliseconds 500 ms outside 75...200 ms "
                + "(the IEC 60601-1-8 range for high priority alarm signals)",
            "config.yaml:13:19: hardware.buzzer_timing.low.spacing_ms: low spacingMilliseconds 100 ms outside 125...250 ms "
                + "(the IEC 60601-1-8 range for low priority alarm signals)",
            "config.yaml:14:22: hardware.buzzer_timing.low.interburst_ms: low interburstMilliseconds 15000 ms outside >= 15001 ms "
                + "(the IEC 60601-1-8 range for low priority alarm signals)",
        ])
        // A single low pulse has no spacing to check.
        #expect(renderedErrors(Self.base + "hardware: {buzzer_timing: {low: {pulses: 1, spacing_ms: 100}}}\n") == [])

        let cases: [(String, String)] = [
            ("hardware: {buzzer_timing: {low: {pulses: 3}}}\n",
             "config.yaml:9:42: hardware.buzzer_timing.low.pulses: 3 is out of range (1...2)"),
            ("hardware: {buzzer_timing: {high: {pulses: 10}}}\n",
             "config.yaml:9:35: hardware.buzzer_timing.high.pulses: unknown key (expected one of: pulse_ms, spacing_ms, group_gap_ms, interburst_ms)"),
            ("hardware: {buzzer_timing: {medium: {group_gap_ms: 500}}}\n",
             "config.yaml:9:37: hardware.buzzer_timing.medium.group_gap_ms: unknown key (expected one of: pulse_ms, spacing_ms, interburst_ms)"),
            ("hardware: {buzzer_timing: {urgent: {}}}\n",
             "config.yaml:9:28: hardware.buzzer_timing.urgent: unknown key (expected one of: high, medium, low)"),
            ("hardware: {buzzer_timing: {high: {interburst_ms: 700000}}}\n",
             "config.yaml:9:50: hardware.buzzer_timing.high.interburst_ms: 700000 is out of range (0...600000)"),
            ("hardware: {buzzer_timing: {medium: {pulse_ms: 0}}}\n",
             "config.yaml:9:47: hardware.buzzer_timing.medium.pulse_ms: medium pulseMilliseconds 0 ms outside 125...250 ms "
                + "(the IEC 60601-1-8 range for medium priority alarm signals)"),
        ]
        for (addition, expected) in cases {
            #expect(renderedErrors(Self.base + addition) == [expected], "\(addition)")
        }
    }

    @Test func shippedConfigExamplesLoadWhenUncommented() throws {
        let path = ShippedPublishingExamplesTests.configDirectory.appendingPathComponent("bedside-gateway.yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // As shipped, the sections are commented out: today's defaults.
        let shipped = try ConfigLoader.parse(text: text, file: path)
        #expect(shipped.alarms == AlarmSettings() && shipped.hardware == HardwareSettings())
        // Drop one level of '# ' from each example block (their own comments stay comments).
        var lines: [String] = []
        var indent: String? = nil
        var uncommented: [String] = []
        for line in text.components(separatedBy: "\n") {
            let start = line == "# alarms:" || line == "# hardware:" || line == "    # alarms:"
            if start {
                indent = String(line.prefix(while: { $0 == " " }))
                uncommented.append(line)
            }
            // The block is its first line and the lines indented under it.
            if let prefix = indent, start || line.hasPrefix(prefix + "#   ") {
                lines.append(prefix + line.dropFirst(prefix.count + 2))
                continue
            }
            indent = nil
            lines.append(line)
        }
        #expect(uncommented == ["# alarms:", "# hardware:", "    # alarms:"])
        let config = try ConfigLoader.parse(text: lines.joined(separator: "\n"), file: path)
        // The examples show the defaults, except the bed's own changes.
        #expect(config.alarms == AlarmSettings())
        var chair = BedAlarmSettings()
        chair.setLimit(LimitRule(condition: "spo2-low", point: "spo2", .below, 92, priority: .high, delayMilliseconds: 0))
        chair.escalateAfterMilliseconds = 30_000
        #expect(config.beds[0].alarms == chair)
        #expect(config.hardware == HardwareSettings(buzzer: .chip(path: "/dev/gpiochip0", line: 17, activeLow: false),
                                                    button: .chip(path: "/dev/gpiochip0", line: 27, activeLow: true),
                                                    statusLED: .chip(path: "/dev/gpiochip0", line: 22, activeLow: false),
                                                    watchdog: WatchdogSettings(device: "/dev/watchdog", timeoutSeconds: 15)))
    }

    /// The point of this test is that it finishes: no input to the new sections may crash the agent.
    @Test func mutatedAlarmAndHardwareSectionsNeverCrash() {
        let full = Self.withBedSettings("    alarms: {limits: {spo2-low: {threshold: 92}}, escalate_after_s: 30}\n") + """
            alarms:
              log: alarms.log
              escalate_after_s: 60
              limits:
                spo2-low: {threshold: 88, priority: high, delay_s: 10, enabled: true}
                rr-high: {enabled: false}
              technical: {monitor_comm_loss: medium, nibp_stale_after_s: 300, sensor_off_delay_ms: 1000}
            hardware:
              buzzer: {chip: /dev/gpiochip0, line: 17, active_low: false}
              button: {fifo: /tmp/button.fifo}
              status_led: {record_to: led.edges}
              buzzer_timing:
                high: {pulse_ms: 150, spacing_ms: 100, group_gap_ms: 500, interburst_ms: 5000}
                low: {pulses: 2}
              watchdog: {device: /dev/watchdog, timeout_s: 15}

            """
        let original = Array(full.utf8)
        #expect((try? ConfigLoader.parse(bytes: original, file: "a.yaml")) != nil, "\(renderedErrors(full))")
        for length in 0...original.count {
            _ = try? ConfigLoader.parse(bytes: Array(original[0..<length]), file: "t.yaml")
        }
        let interesting = Array("{}[]:,-#&*!|>'\"\n\t %@`?~\\0123456789.".utf8) + [0x00, 0xFF]
        ConfigTests.parseMutations(of: original, interesting: interesting, seed: 0xA1A2_0000_0000_0001)
    }
}
