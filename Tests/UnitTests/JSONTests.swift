import Testing
@testable import JSON

struct JSONWriterTests {
    @Test func writesNestedContainersWithCommasInTheRightPlaces() {
        var json = JSONWriter()
        json.beginObject()
        json.member("a", 1)
        json.key("list")
        json.beginArray()
        json.integer(1)
        json.beginObject()
        json.member("x", true)
        json.endObject()
        json.null()
        json.endArray()
        json.member("s", "two")
        json.endObject()
        #expect(json.text == #"{"a":1,"list":[1,{"x":true},null],"s":"two"}"#)
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        var json = JSONWriter()
        json.string("a\"b\\c\nd\u{01}é")
        #expect(json.text == #""a\"b\\c\nd\u0001é""#)
    }

    @Test(arguments: [
        (38.5, 1, "38.5"), (38.0, 1, "38.0"), (97, 0, "97"), (0.05, 1, "0.1"), (-0.04, 1, "0.0"),
        (-1.25, 2, "-1.25"), (3.8000000000000003, 1, "3.8"), (0.5, 0, "1"), (-2.5, 0, "-3"), (7, 3, "7.000"),
    ])
    func formatsDecimalsExactly(value: Double, decimals: Int, expected: String) {
        #expect(formatDecimal(value, decimals: decimals) == expected)
    }

    @Test func nonFiniteNumbersBecomeNull() {
        #expect(formatDecimal(.nan, decimals: 1) == "null")
        #expect(formatDecimal(.infinity, decimals: 0) == "null")
    }
}

struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#" {"n": -12.5e1, "i": 42, "s": "a\u00e9\n", "b": [true, false, null], "o": {}} "#)
        #expect(value["n"] == .number("-12.5e1"))
        #expect(value["i"]?.integerValue == 42)
        #expect(value["s"]?.stringValue == "aé\n")
        #expect(value["b"] == .array([.bool(true), .bool(false), .null]))
        #expect(value["o"] == .object([]))
    }

    @Test func decodesSurrogatePairs() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test(arguments: [
        ("", 0), ("{", 1), (#"{"a" 1}"#, 5), ("[1,]", 3), ("01", 1), ("tru", 3), (#""\x""#, 3),
        ("{} x", 3), ("\"a\nb\"", 2), (#""\ud800x""#, 7), ("-", 1), ("1.", 2),
    ])
    func rejectsMalformedInputWithItsOffset(text: String, offset: Int) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        do {
            _ = try JSONParser.parse(text)
        } catch {
            #expect(error.offset == offset, "\(text): \(error.description)")
        }
    }

    @Test func boundsNestingDepth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let shallow = String(repeating: "[", count: 20) + String(repeating: "]", count: 20)
        #expect((try? JSONParser.parse(shallow)) != nil)
    }

    @Test func writerOutputParsesBack() throws {
        var json = JSONWriter()
        json.beginObject()
        json.member("quote\"d", "line\nbreak\t\u{1F}")
        json.member("n", Int64.max)
        json.endObject()
        let parsed = try JSONParser.parse(json.text)
        #expect(parsed["quote\"d"]?.stringValue == "line\nbreak\t\u{1F}")
        #expect(parsed["n"]?.integerValue == Int64.max)
    }
}
