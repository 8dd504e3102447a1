import Foundation

/// The sanitizer this test process was built with ("thread" or "address"), nil in a normal
/// build. The agent and simulator beside it in the same build directory carry the same one
/// (Deploy/sanitize.sh). Found by the sanitizer runtime's entry point, which the linker exports.
public let sanitizerInUse: String? = {
    if dlsym(nil, "__tsan_init") != nil { return "thread" }
    if dlsym(nil, "__asan_init") != nil { return "address" }
    return nil
}()
