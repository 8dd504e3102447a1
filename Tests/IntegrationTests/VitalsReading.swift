import MQTT
import TestSupport
import Vitals

/// Vitals messages read as a charting subscriber must: each against the description of the
/// revision it names, from the retained descriptions the agent published. A message whose
/// description never arrived is a failure, not something to guess around.
func interpretVitals(_ messages: [MQTTClient.Message], descriptions: [MQTTClient.Message]) throws -> [ReceivedVitals] {
    let book = DescriptionBook()
    for description in descriptions { book.add(try decodeBedDescription(description.payload)) }
    return try messages.map { message in
        switch try book.interpret(message.payload) {
        case .interpreted(let vitals):
            return vitals
        case .unknownDescription(let bed, let revision):
            throw TestFailure("\(message.topic): description \(revision) of bed \(bed) never arrived")
        }
    }
}
