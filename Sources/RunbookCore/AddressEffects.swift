// Floating addresses on an interface (the guide's failover: `ifconfig carp1 alias ...`):
// adding and removing one are mirror images — one effect with a direction — as are their
// undo steps: one type, with a direction that keeps each kind's own journal name.

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
        guard adds, let problem = AddressAnnouncement.send(address, on: interface, platform: world.platform) else { return EffectOutcome() }
        return EffectOutcome(notes: [problem])
    }

    package func simulate(_ overlay: Overlay) -> EffectOutcome {
        overlay.plannedAddresses[interface + " " + address] = adds
        return EffectOutcome()
    }
}

// MARK: - Undo

/// Which way an address undo step goes, and its name in the journal.
package protocol AddressDirection: Sendable {
    static var op: String { get }
    static var adds: Bool { get }
}

package enum AddingAddress: AddressDirection {
    package static let op = "net.add_ip"
    package static let adds = true
}

package enum RemovingAddress: AddressDirection {
    package static let op = "net.remove_ip"
    package static let adds = false
}

/// Adds an address the run removed, unless it is there.
package typealias AddAddressUndo = AddressUndo<AddingAddress>
/// Removes an address the run added, if it is there.
package typealias RemoveAddressUndo = AddressUndo<RemovingAddress>

/// Puts an address back (`Direction.adds`) or takes it away, unless it is already so.
package struct AddressUndo<Direction: AddressDirection>: UndoAction {
    package static var op: String { Direction.op }
    package let interface: String
    package let address: String

    package var description: String {
        Direction.adds ? "add \(address) to \(interface) again" : "remove \(address) from \(interface)"
    }

    package func run(in world: World) throws {
        let present = NetworkState.addresses(interface, platform: world.platform).contains(address)
        guard present != Direction.adds else { return }
        try runChecked(Direction.adds ? world.platform.addAddress(interface: interface, address: address)
                                      : world.platform.removeAddress(interface: interface, address: address))
        if Direction.adds { _ = AddressAnnouncement.send(address, on: interface, platform: world.platform) }
    }
}

/// A gratuitous ARP after an address is added (PlatformAdapter.announceAddress), sent in the
/// background: the failover goes on while arping waits out its second.
package enum AddressAnnouncement {
    /// Why the address could not be announced, or nil (sent, or nothing to send here).
    package static func send(_ address: String, on interface: String, platform: PlatformAdapter) -> String? {
        guard let argv = platform.announceAddress(interface: interface, address: address) else { return nil }
        guard ProcessRunner.resolve(argv[0]) != nil else {
            return "\(argv[0]) is not installed: \(address) was not announced; the neighbours learn it when their ARP entry expires"
        }
        do { try ProcessRunner.startDetached(argv) } catch { return "\(address) was not announced: \(error)" }
        return nil
    }
}

extension AddressUndo {
    package init(args: JSON) throws {
        self.init(interface: try args.undoString("interface", of: Self.op), address: try args.undoString("address", of: Self.op))
    }

    package var args: [(String, JSON)] { [("interface", .string(interface)), ("address", .string(address))] }
}
