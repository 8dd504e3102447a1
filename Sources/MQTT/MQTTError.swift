import CMosquitto
import Platform

public struct MQTTError: Error, CustomStringConvertible {
    public var operation: String
    /// libmosquitto's result code (MOSQ_ERR_*).
    public var code: Int32
    /// errno, when libmosquitto says the failure was a system call (MOSQ_ERR_ERRNO).
    public var systemErrno: Errno?

    public init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code
        systemErrno = code == Int32(MOSQ_ERR_ERRNO.rawValue) ? Errno.current : nil
    }

    public var description: String {
        if let systemErrno {
            return "\(operation) failed: \(systemErrno.descriptionWithNumber)"
        }
        return "\(operation) failed: \(String(cString: mosquitto_strerror(code))) (mosquitto error \(code))"
    }
}
