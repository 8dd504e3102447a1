import JSON
import Platform

/// The contract's alarmEvent payload (Deploy/mqtt/asyncapi.yaml):
/// {"bed","alarm","condition","priority","kind","event","time","seq"}, plus "detail" when the
/// event has one (a limit change's new rule) and "by" on an acknowledge (who: "button" or
/// "command:<issuer>").
public func encodeAlarmEvent(_ event: AlarmEvent) -> String {
    var json = JSONWriter()
    writeEventMembers(&json, event)
    if !event.detail.isEmpty { json.member("detail", event.detail) }
    if !event.by.isEmpty { json.member("by", event.by) }
    json.endObject()
    return json.text
}

func writeEventMembers(_ json: inout JSONWriter, _ event: AlarmEvent) {
    json.beginObject()
    json.member("bed", event.bed)
    json.member("alarm", event.alarm)
    json.member("condition", event.condition)
    json.member("priority", event.priority.name)
    json.member("kind", event.kind.name)
    json.member("event", event.type.name)
    json.member("time", formatUTCTimestamp(millisecondsSinceEpoch: event.wallClockMilliseconds))
    json.member("seq", event.sequence)
}

/// The contract's retained alarmState payload:
/// {"bed","active":[{"alarm","condition","priority","since","acknowledged"}],"audio_paused_until","time"}.
public func encodeAlarmState(bed: String, active: [ActiveAlarm], audioPausedUntilWallClockMilliseconds: Int64?,
                             wallClockMilliseconds: Int64) -> String {
    var json = JSONWriter()
    json.beginObject()
    json.member("bed", bed)
    json.key("active")
    json.beginArray()
    for alarm in active {
        json.beginObject()
        json.member("alarm", alarm.alarm)
        json.member("condition", alarm.condition)
        json.member("priority", alarm.priority.name)
        json.member("since", formatUTCTimestamp(millisecondsSinceEpoch: alarm.sinceWallClockMilliseconds))
        json.member("acknowledged", alarm.acknowledged)
        json.endObject()
    }
    json.endArray()
    json.key("audio_paused_until")
    if let until = audioPausedUntilWallClockMilliseconds {
        json.string(formatUTCTimestamp(millisecondsSinceEpoch: until))
    } else {
        json.null()
    }
    json.member("time", formatUTCTimestamp(millisecondsSinceEpoch: wallClockMilliseconds))
    json.endObject()
    return json.text
}

extension AlarmEngine {
    /// The retained state of one bed, now.
    public func encodeState(bed: String, monotonicMilliseconds now: Int64, wallClockMilliseconds wall: Int64) -> String {
        encodeAlarmState(bed: bed, active: activeAlarms(bed: bed), audioPausedUntilWallClockMilliseconds: audioPausedUntil(now: now),
                         wallClockMilliseconds: wall)
    }
}
