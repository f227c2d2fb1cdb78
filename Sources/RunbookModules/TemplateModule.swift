// The `template` module: renders configuration files (nginx server blocks, config.php,
// crontabs) from a template and a table of variables. Rendering only builds a string;
// writing it is fs.write's job (an effect, with its diff, journal entry and undo).
//
// Why Mustache (a subset, see RunbookSupport/MustacheTemplate.swift) and not Lua string templates:
//  - Logic-less: a template holds text and names, never code. Templates live next to the
//    configs operators edit; a template language that runs Lua would be a second way into
//    the runtime, around the sandbox and the effects. Decisions (free or paid, which IPs)
//    stay in the runbook, where they are dry-run and logged.
//  - Familiar and small: {{name}} reads like Jinja or Go templates, and the whole language
//    (variables, sections, inverted sections, comments) fits on one page of the docs.
//    nginx's { } and PHP's $vars never clash with {{ }}, while Lua string templates
//    (string.format, gsub patterns with %) would need escaping in exactly those files.
//  - Strict: a missing variable is an error naming it and the template line
//    ("nginx.conf.tpl:12: no value for {{site.hostname}}"), never an empty string in a
//    production config. Sections are the way to make a part optional: a missing name, nil,
//    false, 0, "" or an empty table skips {{#x}} (and renders {{^x}}).
//  - No HTML escaping: these are configuration files, not web pages; {{x}} inserts the
//    value as it is ({{{x}}} and {{& x}} are accepted and mean the same).

import LuaBridge
import RunbookRun
import RunbookSupport

package enum TemplateModule: LuaModule {
    package static var sections: [APIModule] { [
        APIModule("template", title: "template: rendering configuration files", doc: """
            Mustache, logic-less: `{{name}}`, `{{a.b}}`, `{{.}}`, sections `{{#list}}...{{/list}}`,
            inverted sections `{{^x}}...{{/x}}`, comments `{{! ... }}`; no HTML escaping (these are
            configs). A missing variable is an error naming it and the template line, never an empty
            string. Why Mustache and not Lua string templates is explained at the top of
            `RunbookModules/TemplateModule.swift`: templates hold no code, and nginx's
            `{ }` and PHP's `$` never clash with `{{ }}`. Rendering only builds a string; `fs.write`
            writes it (an effect with its undo).

            Partials (`{{> name}}`) and delimiter changes (`{{=<% %>=}}`) are refused with one line
            naming the template line. Why: every template the platform renders is one file whose
            pieces are built in Lua (a server block per site, joined), and a partial would hide a
            second file read behind a tag; render the other template first and pass its text as a
            variable (`{{{server_blocks}}}`). No config of the platform needs other delimiters
            (nginx, PHP and cron never write `{{`).
            """),
    ] }

    package static var primitives: [LuaPrimitive] { [
        // template.render(text, vars) -> string (pure: usable outside `run` too)
        LuaPrimitive("template.render", doc: renderDoc, anywhere: render),
        // template.render_file(path, vars) -> string (read through the run's view: a dry-run
        // sees a template written earlier in the same run)
        LuaPrimitive("template.render_file", doc: renderFileDoc, renderFile),
    ] }

    // MARK: template.render

    static var renderDoc: APIFunction {
        APIFunction(.pure, "text: string  the template", "vars: table  the values, by name",
            returns: ["string  the rendered text"],
            doc: "Renders a template given as text. Usable at the top level of a file too.",
            example: """
            local server = template.render([[
            server {
              listen {{ip}}:80;
              server_name {{#names}}{{.}} {{/names}};
            }
            ]], { ip = "208.43.48.5", names = { "shop.example.com", "www.shop.example.com" } })
            """)
    }

    static func render(_ call: LuaCall) throws -> Int32 {
        let text = try call.string(1)
        let vars = try call.table(2)
        call.push(try render(text, name: "template", vars: vars))
        return 1
    }

    // MARK: template.render_file

    static var renderFileDoc: APIFunction {
        APIFunction(.read, "path: string  the template file's absolute path", "vars: table  the values, by name",
            returns: ["string  the rendered text"],
            doc: """
            Renders the template file at `path`, read through the run's view: a dry-run sees a
            template written earlier in the same run. Errors name the file and the template line.
            """)
    }

    static func renderFile(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let path = try call.string(1)
        let vars = try call.table(2)
        let bytes: [UInt8]
        do { bytes = try session.view.read(try session.paths.real(path)) } catch let error as SystemError {
            throw LuaHostFailure("template.render_file \(path): \(String(cString: strerror(error.code)))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw LuaHostFailure("template.render_file \(path): not UTF-8 text")
        }
        call.push(try render(text, name: path, vars: vars))
        return 1
    }

    package static func render(_ text: String, name: String, vars: LuaTable) throws -> String {
        do {
            return try MustacheTemplate(text, name: name).render(.table(vars))
        } catch let error as TemplateError {
            throw LuaHostFailure(error.description)
        }
    }
}
