// Floating addresses on an interface (the guide's failover: `ifconfig carp1 alias ...`):
// adding and removing one are mirror images — one effect with a direction — as are their
// undo steps, which share one implementation (each kind keeps its own journal name).

import RunbookSupport

/// An address added to (`adds`) or removed from an interface.
package struct AddressChange: Effect {
    package let adds: Bool
    package let interface: String
    package let address: String

    package init(adds: Bool, interface: String, address: String) {
        self.adds = adds
        self.interface = interface
        self.address = address
    }

    package var kind: String { adds ? "net.add_ip" : "net.remove_ip" }
    package var sign: ChangeSign { adds ? .create : .remove }
    package var summary: String { adds ? "add address \(address) to \(interface)" : "remove address \(address) from \(interface)" }
    package var identity: JSON { .object([("interface", .string(interface)), ("address", .string(address))]) }

    package func prepareUndo(_ world: World) throws -> [any UndoAction]? {
        adds ? [RemoveAddressUndo(interface: interface, address: address)] : [AddAddressUndo(interface: interface, address: address)]
    }

    package func apply(_ world: World) throws -> EffectOutcome {
        try runChecked(adds ? world.platform.addAddress(interface: interface, address: address)
                            : world.platform.removeAddress(interface: interface, address: address))
        return EffectOutcome()
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.plannedAddresses[interface + " " + address] = adds
        return EffectOutcome()
    }
}

// MARK: - Undo

/// Puts an address back (`adds`) or takes it away, unless it is already so.
package protocol AddressUndo: UndoAction {
    static var adds: Bool { get }
    var interface: String { get }
    var address: String { get }
    init(interface: String, address: String)
}

extension AddressUndo {
    package init(args: JSON) throws {
        self.init(interface: try args.undoString("interface", of: Self.op), address: try args.undoString("address", of: Self.op))
    }

    package var args: [(String, JSON)] { [("interface", .string(interface)), ("address", .string(address))] }
    package var description: String { Self.adds ? "add \(address) to \(interface) again" : "remove \(address) from \(interface)" }

    package func run(in world: World) throws {
        let present = NetworkState.addresses(interface, platform: world.platform).contains(address)
        guard present != Self.adds else { return }
        try runChecked(Self.adds ? world.platform.addAddress(interface: interface, address: address)
                                 : world.platform.removeAddress(interface: interface, address: address))
    }
}

/// Adds an address the run removed, unless it is there.
package struct AddAddressUndo: AddressUndo {
    package static let op = "net.add_ip"
    package static let adds = true
    package let interface: String
    package let address: String

    package init(interface: String, address: String) {
        self.interface = interface
        self.address = address
    }
}

/// Removes an address the run added, if it is there.
package struct RemoveAddressUndo: AddressUndo {
    package static let op = "net.remove_ip"
    package static let adds = false
    package let interface: String
    package let address: String

    package init(interface: String, address: String) {
        self.interface = interface
        self.address = address
    }
}
