import CModbus
import CShims
import RegisterMaps

/// The four Modbus tables (coils, discrete inputs, holding and input registers) of one
/// served device, as libmodbus's `modbus_mapping_t`. Addresses outside the tables are
/// ignored on write and read as 0, so a profile larger than the bank cannot crash the server.
public final class ModbusRegisterBank {
    public let registerCount: Int
    public let bitCount: Int
    let mapping: UnsafeMutablePointer<modbus_mapping_t>

    public init(registers: Int = 256, bits: Int = 256) throws(ModbusError) {
        guard let mapping = modbus_mapping_new(Int32(bits), Int32(bits), Int32(registers), Int32(registers)) else {
            throw ModbusError("allocate register map (\(registers) registers, \(bits) bits)", device: "server")
        }
        self.mapping = mapping
        registerCount = registers
        bitCount = bits
    }

    deinit { modbus_mapping_free(mapping) }

    /// Sets one register, or one bit (any non-zero value is 1).
    public func set(_ function: ModbusFunction, _ address: Int, _ value: UInt16) {
        switch function {
        case .inputRegisters:
            if address >= 0 && address < registerCount { mapping.pointee.tab_input_registers[address] = value }
        case .holdingRegisters:
            if address >= 0 && address < registerCount { mapping.pointee.tab_registers[address] = value }
        case .coils:
            if address >= 0 && address < bitCount { mapping.pointee.tab_bits[address] = value == 0 ? 0 : 1 }
        case .discreteInputs:
            if address >= 0 && address < bitCount { mapping.pointee.tab_input_bits[address] = value == 0 ? 0 : 1 }
        }
    }

    /// One register, or one bit as 0/1; 0 outside the tables.
    public func get(_ function: ModbusFunction, _ address: Int) -> UInt16 {
        switch function {
        case .inputRegisters:
            return address >= 0 && address < registerCount ? mapping.pointee.tab_input_registers[address] : 0
        case .holdingRegisters:
            return address >= 0 && address < registerCount ? mapping.pointee.tab_registers[address] : 0
        case .coils:
            return address >= 0 && address < bitCount ? UInt16(mapping.pointee.tab_bits[address]) : 0
        case .discreteInputs:
            return address >= 0 && address < bitCount ? UInt16(mapping.pointee.tab_input_bits[address]) : 0
        }
    }
}
