// The `net` module: IP addresses on interfaces, and ping (a read, also in a dry-run).

import LuaBridge
import RunbookConfig
import RunbookCore
import RunbookRun

package enum NetModule: LuaModule {
    package static var sections: [APIModule] { [APIModule("net", title: "net: addresses", doc: "")] }

    package static var primitives: [LuaPrimitive] { [
        // net.add_ip(interface, address [, {force=false}]) -> true if added
        // Refuses an address that still answers ping (another host has it) unless forced.
        LuaPrimitive("net.add_ip", doc: addIpDoc, addIp),
        // net.remove_ip(interface, address) -> true if removed
        LuaPrimitive("net.remove_ip", doc: removeIpDoc, removeIp),
        // net.addresses(interface) -> array of addresses (planned changes included in a dry-run)
        LuaPrimitive("net.addresses", doc: addressesDoc, addresses),
        // net.ping(address) -> true if it answers one echo request within a second
        LuaPrimitive("net.ping", doc: pingDoc, ping),
    ] }

    // MARK: net.add_ip

    static var addIpDoc: APIFunction {
        APIFunction(.effect, "interface: string  like `igb1` or `eth0`", "address: string  an IPv4 or IPv6 address",
            "options?: net.AddOptions",
            returns: ["boolean  `true` if added, `false` if it was there"],
            doc: """
            Adds `address` (as a /32 or /128 alias) to `interface`. An address that still answers
            ping belongs to another host and is refused (the guide: "If the ping is successful, the
            IPs are not taken") unless `force = true`. Undo: remove.
            """,
            example: """
            for _, ip in ipairs(ips) do
              if net.ping(ip) then log.warn(ip .. " still answers: not taking it")
              else net.add_ip("igb1", ip) end
            end
            """,
            classes: [APIClass("net.AddOptions", "force?: boolean  add it even if it answers ping")])
    }

    static func addIp(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let interface = try interfaceName(call, 1)
        let address = try ipAddress(call, 2)
        let force = try call.optionalTable(3)?["force"].boolValue ?? false
        if addresses(session, interface).contains(address) {
            session.noChange("\(address) is on \(interface)")
            call.push(false)
            return 1
        }
        if !force && answersPing(address, session) {
            throw LuaHostFailure("net.add_ip: \(address) still answers ping, so another host has it; not taking it (pass {force = true} to take it anyway)")
        }
        try session.perform(AddressChange(adds: true, interface: interface, address: address))
        call.push(true)
        return 1
    }

    // MARK: net.remove_ip

    static var removeIpDoc: APIFunction {
        APIFunction(.effect, "interface: string  like `igb1` or `eth0`", "address: string  an IPv4 or IPv6 address",
            returns: ["boolean  `true` if removed, `false` if absent"],
            doc: "Removes the address from `interface`. Undo: add it back.")
    }

    static func removeIp(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let interface = try interfaceName(call, 1)
        let address = try ipAddress(call, 2)
        guard addresses(session, interface).contains(address) else {
            session.noChange("\(address) is not on \(interface)")
            call.push(false)
            return 1
        }
        try session.perform(AddressChange(adds: false, interface: interface, address: address))
        call.push(true)
        return 1
    }

    // MARK: net.addresses

    static var addressesDoc: APIFunction {
        APIFunction(.read, "interface: string  like `igb1` or `eth0`",
            returns: ["string[]  the addresses"],
            doc: "The addresses of `interface`; in a dry-run the list includes planned changes.")
    }

    static func addresses(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        try call.push(.table(LuaTable(array: addresses(session, try interfaceName(call, 1)).map { .string($0) })))
        return 1
    }

    // MARK: net.ping

    static var pingDoc: APIFunction {
        APIFunction(.read, "address: string  an IPv4 or IPv6 address",
            returns: ["boolean  `true` if it answers"],
            doc: "Sends one echo request and waits one second. Real in a dry-run.")
    }

    static func ping(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        call.push(answersPing(try ipAddress(call, 1), session))
        return 1
    }

    /// One echo request from this host, or from the host `on` names.
    static func answersPing(_ address: String, _ session: RunSession) -> Bool {
        NetworkState.answersPing(address, platform: session.platform, reading: session.reading)
    }

    /// The interface's addresses here, or on the host `on` names, with a dry-run's changes.
    package static func addresses(_ session: RunSession, _ interface: String) -> [String] {
        var list = NetworkState.addresses(interface, platform: session.platform, reading: session.reading)
        if let overlay = session.view as? Overlay {
            for (key, added) in overlay.plannedAddresses where key.hasPrefix(interface + " ") {
                let address = String(key.dropFirst(interface.count + 1))
                if added { if !list.contains(address) { list.append(address) } } else { list.removeAll { $0 == address } }
            }
        }
        return list
    }

    package static func interfaceName(_ call: LuaCall, _ position: Int32) throws -> String {
        let name = try call.string(position)
        guard !name.isEmpty, name.utf8.count <= 15, name.first != "-",
              name.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 || $0 == 46 })
        else { throw call.argumentError(position, "'\(name)' is not an interface name") }
        return name
    }

    package static func ipAddress(_ call: LuaCall, _ position: Int32) throws -> String {
        let text = try call.string(position)
        guard let address = ArgumentValidator.normalizedIP(text) else { throw call.argumentError(position, "'\(text)' is not an IP address") }
        return address
    }
}
