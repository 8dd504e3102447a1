import FuzzSupport
import RegisterMaps
import Vitals

// The bed description a subscriber reads (`decodeBedDescription`). Property: a description
// that decodes names each of its points once per name lookup, as `watch` relies on.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzBedDescription(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzInput(data, size)
    guard let description = try? decodeBedDescription(bytes) else { return 0 }
    for point in description.points {
        fuzzRequire(description.point(named: point.name) != nil, "point \(point.name) is decoded but not found by name")
    }
    let book = DescriptionBook()
    book.add(description)
    fuzzRequire(book.description(bed: description.bedID, revision: description.revision) == description,
                "a description added to the book is not returned for its own bed and revision")
    return 0
}

runFuzzTarget(fuzzBedDescription, seeds: {
    [BedDescription(bedID: "chair-1", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points),
                                                ("pump-1", BuiltinProfiles.infusionPump.points)]).payload,
     BedDescription(bedID: "chair-2", devices: [("monitor-1", BuiltinProfiles.patientMonitor.points),
                                                ("monitor-2", BuiltinProfiles.patientMonitor.points)]).payload]
        .map { Array($0.utf8) }
})
