// Every platform action renders the command line the operations guide uses, on Linux and
// on FreeBSD (production), as an argv — never a shell string.

@testable import RunbookEngine
import RunbookCore
import RunbookSupport
import RunbookTestKit
import Testing

@Suite struct PlatformAdapterTests {
    let linux = PlatformAdapter(kind: .linux)
    let freebsd = PlatformAdapter(kind: .freebsd)

    @Test func bindMounts() {
        #expect(linux.bindMount(source: "/usr/home/shop/html", target: "/usr/home/shop/tmp/ftp/html")
                == ["mount", "--bind", "/usr/home/shop/html", "/usr/home/shop/tmp/ftp/html"])
        #expect(freebsd.bindMount(source: "/usr/home/shop/html", target: "/usr/home/shop/tmp/ftp/html")
                == ["mount_nullfs", "/usr/home/shop/html", "/usr/home/shop/tmp/ftp/html"])
        #expect(linux.unmount(target: "/x") == ["umount", "/x"])
        #expect(freebsd.unmount(target: "/x") == ["umount", "/x"])
    }

    @Test func addresses() {
        #expect(linux.addAddress(interface: "eth1", address: "208.43.48.5") == ["ip", "addr", "add", "208.43.48.5/32", "dev", "eth1"])
        #expect(linux.removeAddress(interface: "eth1", address: "208.43.48.5") == ["ip", "addr", "del", "208.43.48.5/32", "dev", "eth1"])
        #expect(freebsd.addAddress(interface: "igb1", address: "208.43.48.5") == ["ifconfig", "igb1", "inet", "208.43.48.5/32", "alias"])
        #expect(freebsd.removeAddress(interface: "igb1", address: "208.43.48.5") == ["ifconfig", "igb1", "inet", "208.43.48.5", "-alias"])
        #expect(freebsd.addAddress(interface: "igb1", address: "2001:db8::5") == ["ifconfig", "igb1", "inet6", "2001:db8::5/128", "alias"])
        // The gratuitous ARP after taking an address (FreeBSD's ifconfig announces it itself).
        #expect(linux.announceAddress(interface: "eth1", address: "208.43.48.5") == ["arping", "-U", "-c", "1", "-I", "eth1", "208.43.48.5"])
        #expect(freebsd.announceAddress(interface: "igb1", address: "208.43.48.5") == nil)
        #expect(linux.announceAddress(interface: "eth1", address: "2001:db8::5") == nil)
        #expect(linux.listAddresses(interface: "eth1") == ["ip", "-o", "addr", "show", "dev", "eth1"])
        #expect(freebsd.listAddresses(interface: "igb1") == ["ifconfig", "igb1"])
        #expect(linux.ping(address: "10.0.0.1") == ["ping", "-4", "-c", "1", "-W", "1", "-n", "-q", "10.0.0.1"])
        #expect(freebsd.ping(address: "10.0.0.1") == ["ping", "-c", "1", "-t", "1", "-n", "-q", "10.0.0.1"])
    }

    @Test func parsesAddressListsOfBothSystems() {
        let ipOutput = """
            2: eth1    inet 10.0.4.1/24 brd 10.0.4.255 scope global eth1\\       valid_lft forever preferred_lft forever
            2: eth1    inet 208.43.48.5/32 scope global eth1\\       valid_lft forever preferred_lft forever
            2: eth1    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever
            """
        #expect(linux.parseAddresses(ipOutput) == ["10.0.4.1", "208.43.48.5", "fe80::1"])
        let ifconfigOutput = """
            igb1: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
            \tinet 172.16.102.10 netmask 0xffffff00 broadcast 172.16.102.255
            \tinet 208.43.48.5 netmask 0xffffffff broadcast 208.43.48.5
            \tinet6 fe80::1%igb1 prefixlen 64 scopeid 0x2
            """
        #expect(freebsd.parseAddresses(ifconfigOutput) == ["172.16.102.10", "208.43.48.5", "fe80::1"])
    }

    @Test func servicesAndConfigTests() {
        #expect(freebsd.reloadService("nginx") == ["service", "nginx", "reload"])
        #expect(linux.reloadService("nginx", configPath: "/etc/nginx/nginx.conf") == ["nginx", "-c", "/etc/nginx/nginx.conf", "-s", "reload"])
        #expect(linux.reloadService("php-fpm") == ["service", "php-fpm", "reload"])
        #expect(freebsd.configTest("nginx") == ["nginx", "-t", "-q"])
        #expect(linux.configTest("nginx", configPath: "/tmp/n.conf") == ["nginx", "-t", "-q", "-c", "/tmp/n.conf"])
        #expect(linux.configTest("proftpd") == nil)
        #expect(freebsd.restartService("proftpd") == ["service", "proftpd", "restart"])
    }

    @Test func mountTablesOfBothSystems() {
        let mountinfo = """
            22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
            40 22 8:1 /srv/shared/theme /usr/home/shop/tmp/ftp/theme rw,relatime shared:1 - ext4 /dev/sda1 rw
            41 22 0:45 / /tmp/t rw - tmpfs tmpfs rw
            42 41 0:45 /a\\040b /tmp/t/c rw - tmpfs tmpfs rw
            """
        let entries = MountTable.parseMountInfo(mountinfo)
        #expect(entries.contains(MountEntry(source: "/srv/shared/theme", target: "/usr/home/shop/tmp/ftp/theme", type: "ext4")))
        #expect(entries.contains(MountEntry(source: "/tmp/t/a b", target: "/tmp/t/c", type: "tmpfs")))
        let fstab = "/dev/ada0p2 / ufs rw 1 1\n/usr/home/shop/html /usr/home/shop/tmp/ftp/html nullfs rw 0 0\n"
        #expect(MountTable.parseFstab(fstab).last == MountEntry(source: "/usr/home/shop/html", target: "/usr/home/shop/tmp/ftp/html", type: "nullfs"))
    }

    @Test func commandsShowAsAShellUserWouldTypeThem() {
        #expect(ShellWords.quote("nginx") == "nginx")
        #expect(ShellWords.quote("a b") == "'a b'")
        #expect(ShellWords.quote("it's; rm -rf /") == "'it'\\''s; rm -rf /'")
    }
}
