// Templates for configuration files: variables, dotted names, sections, inverted sections,
// comments and standalone lines; a missing variable is an error naming it and its line.
// Rendered directly, and through the engine (template.render / template.render_file).

@testable import RunbookEngine
import LuaBridge
import RunbookConfig
import RunbookEngine
import RunbookRun
import RunbookSupport
import RunbookTestKit
import Testing

private func render(_ text: String, _ vars: LuaValue, name: String = "t.tpl") throws -> String {
    try MustacheTemplate(text, name: name).render(vars)
}

private func renderError(_ text: String, _ vars: LuaValue) -> TemplateError? {
    do {
        _ = try render(text, vars)
        return nil
    } catch let error as TemplateError {
        return error
    } catch {
        return nil
    }
}

@Suite("Templates")
struct TemplateTests {
    @Test("variables and dotted names, with no HTML escaping")
    func variables() throws {
        let vars: LuaValue = ["hostname": "shop.example.com", "port": 443, "ratio": 0.5, "ssl": true,
                              "site": ["root": "/usr/home/shop/html", "db": ["name": "shop_1"]], "html": "<a href='x'>&</a>"]
        #expect(try render("server_name {{hostname}}:{{ port }};", vars) == "server_name shop.example.com:443;")
        #expect(try render("root {{site.root}}; db {{site.db.name}}", vars) == "root /usr/home/shop/html; db shop_1")
        #expect(try render("{{ratio}} {{ssl}}", vars) == "0.5 true")
        #expect(try render("{{html}} {{{html}}} {{& html}}", vars) == "<a href='x'>&</a> <a href='x'>&</a> <a href='x'>&</a>")
        #expect(try render("no tags at all\n", vars) == "no tags at all\n")
        #expect(try render("nginx { } and $php {single} braces", vars) == "nginx { } and $php {single} braces")
    }

    @Test("sections go through lists, enter tables, and reach outer names")
    func sections() throws {
        let vars: LuaValue = [
            "hostname": "shop.example.com",
            "ips": ["10.0.0.1", "10.0.0.2"],
            "sites": [["name": "a.example.com", "ip": "10.0.0.1"], ["name": "b.example.com"]],
            "paid": ["plan": "paid"],
        ]
        #expect(try render("{{#ips}}listen {{.}}:80;\n{{/ips}}", vars) == "listen 10.0.0.1:80;\nlisten 10.0.0.2:80;\n")
        #expect(try render("{{#sites}}[{{name}} of {{hostname}}]{{/sites}}", vars)
                == "[a.example.com of shop.example.com][b.example.com of shop.example.com]")
        #expect(try render("{{#paid}}plan={{plan}}{{/paid}}", vars) == "plan=paid")
        #expect(try render("{{#hostname}}has {{.}}{{/hostname}}", vars) == "has shop.example.com")
    }

    @Test("inverted sections render for missing, false, 0, empty strings and empty lists")
    func invertedSections() throws {
        let vars: LuaValue = ["off": false, "zero": 0, "empty": "", "none": .table(LuaTable()), "on": true, "list": ["x"]]
        for name in ["missing", "off", "zero", "empty", "none"] {
            #expect(try render("{{#\(name)}}yes{{/\(name)}}{{^\(name)}}no{{/\(name)}}", vars) == "no", "\(name)")
        }
        for name in ["on", "list"] {
            #expect(try render("{{#\(name)}}yes{{/\(name)}}{{^\(name)}}no{{/\(name)}}", vars) == "yes", "\(name)")
        }
    }

    @Test("comments vanish, and section and comment tags alone on a line take the line with them")
    func commentsAndStandaloneLines() throws {
        let template = """
            {{! nginx server block for one install }}
            server {
              server_name {{hostname}};
              {{#ssl}}
              listen 443 ssl;
              {{/ssl}}
              {{^ssl}}
              listen 80;
              {{/ssl}}
            }

            """
        #expect(try render(template, ["hostname": "a.example.com", "ssl": true])
                == "server {\n  server_name a.example.com;\n  listen 443 ssl;\n}\n")
        #expect(try render(template, ["hostname": "a.example.com"]) == "server {\n  server_name a.example.com;\n  listen 80;\n}\n")
        #expect(try render("a {{! inline }}b", [:]) == "a b")
    }

    @Test("a missing variable is an error naming it and the template line")
    func missingVariable() {
        let error = renderError("line one\nserver_name {{hostname}};\n", ["host": "x"])
        #expect(error?.description == "t.tpl:2: no value for {{hostname}}")
        let dotted = renderError("\n\nroot {{site.root}};", ["site": ["home": "/usr/home/x"]])
        #expect(dotted?.description == "t.tpl:3: no value for {{site.root}} (site has no field root)")
        let inSection = renderError("{{#sites}}\n{{name}} {{ip}}\n{{/sites}}", ["sites": [["name": "a", "ip": "1"], ["name": "b"]]])
        #expect(inSection?.description == "t.tpl:2: no value for {{ip}}")
        #expect(renderError("{{site}}", ["site": ["a": 1]])?.problem.contains("is a table, not a value") == true)
    }

    @Test("malformed templates are errors at their line")
    func malformed() {
        #expect(renderError("{{#a}}\n{{#b}}\n{{/a}}", [:])?.description == "t.tpl:3: {{/a}} closes {{#b}} (opened on line 2)")
        #expect(renderError("\n{{#a}}x", [:])?.description == "t.tpl:2: {{#a}} is never closed (expected {{/a}})")
        #expect(renderError("x\n{{/a}}", [:])?.description == "t.tpl:2: {{/a}} closes a section that was never opened")
        #expect(renderError("x {{name", [:])?.description == "t.tpl:1: {{ is never closed")
        #expect(renderError("{{> partial}}", [:])?.problem.contains("partials") == true)
        #expect(renderError("{{a b}}", [:])?.problem.contains("is not a valid tag") == true)
    }

    @Test("template.render and template.render_file in a runbook; render_file sees a template planned in a dry-run")
    func throughTheEngine() throws {
        var template = Array("/tmp/rbtpl.XXXXXX".utf8CString)
        let base = String(cString: try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }))
        defer { try? Posix.removeTree(base) }
        try Files.mkdir(base + "/runbooks")
        try Files.mkdir(base + "/tree")
        var config = EngineConfig(stateDir: base + "/state")
        config.runbookDirs = [base + "/runbooks"]
        let engine = Engine(config: config)
        try Files.write(base + "/runbooks/render.lua", """
            return runbook {
              summary = "renders an nginx block",
              params = { dir = { type = "path", required = true }, missing = { type = "bool", default = false } },
              run = function(args)
                step("Render", function()
                  fs.write(args.dir .. "/site.tpl", "server_name {{hostname}};\\n{{#ips}}listen {{.}};\\n{{/ips}}")
                  local vars = { hostname = "shop.example.com", ips = { "10.0.0.1", "10.0.0.2" } }
                  if args.missing then vars.hostname = nil end
                  local text = template.render_file(args.dir .. "/site.tpl", vars)
                  assert(text == template.render("server_name {{hostname}};\\n{{#ips}}listen {{.}};\\n{{/ips}}", vars))
                  fs.write(args.dir .. "/site.conf", text)
                end)
              end,
            }
            """)
        var options = RunOptions()
        options.output = .quiet
        options.dryRun = true
        let plan = engine.run("render", words: ["--dir", base + "/tree"], options: options)
        #expect(plan.status == .done, "\(plan.error ?? "")")
        #expect(plan.effects.map(\.summary) == ["write \(base)/tree/site.tpl (56 bytes)", "write \(base)/tree/site.conf (64 bytes)"])
        #expect(!Files.exists(base + "/tree/site.tpl"), "the dry-run wrote the template")

        options.dryRun = false
        let real = engine.run("render", words: ["--dir", base + "/tree"], options: options)
        #expect(real.status == .done, "\(real.error ?? "")")
        #expect(Files.read(base + "/tree/site.conf") == "server_name shop.example.com;\nlisten 10.0.0.1;\nlisten 10.0.0.2;\n")

        let failed = engine.run("render", words: ["--dir", base + "/tree", "--missing"], options: options)
        #expect(failed.status == .failed)
        #expect(failed.error?.contains("render.lua:9: \(base)/tree/site.tpl:1: no value for {{hostname}}") == true, "\(failed.error ?? "")")
    }
}
