// The `mail` module: messages through the local sendmail. Cannot be undone, so always `!`
// in a plan; not sent in a dry-run.

import LuaBridge
import RunbookRun
import RunbookConfig
import RunbookCore

package enum MailModule: LuaModule {
    package static var sections: [APIModule] { [APIModule("mail", title: "mail: messages", doc: "")] }

    package static var primitives: [LuaPrimitive] { [
        // mail.send({to = "a@b.c" or {...}, subject = "...", body = "...", from = "..."})
        LuaPrimitive("mail.send", doc: sendDoc, send),
    ] }

    // MARK: mail.send

    static var sendDoc: APIFunction {
        APIFunction(.effect, "message: mail.Message",
            doc: """
            Hands the message to the local `sendmail -t -i` (`sendmail = "/usr/sbin/sendmail"` in the
            config to choose another). Sent mail cannot be recalled: always `!` in a plan, never sent
            in a dry-run.
            """,
            example: #"mail.send({ to = args.email, subject = "Your store is ready", body = welcome, from = "support@make-a-store.com" })"#,
            classes: [APIClass("mail.Message", "to: string|string[]  one address or a list", "subject: string  one line",
                               "body?: string", "from?: string  an address")])
    }

    static func send(_ call: LuaCall, _ session: RunSession) throws -> Int32 {
        let message = try call.table(1)
        var recipients: [String] = []
        switch message["to"] {
        case .string: recipients = [message["to"].stringValue ?? ""]
        case .table(let list): recipients = list.array.compactMap(\.stringValue)
        default: throw call.argumentError(1, "field 'to' must be an address or a list of addresses")
        }
        guard !recipients.isEmpty, recipients.allSatisfy(ArgumentValidator.isEmail) else {
            throw call.argumentError(1, "field 'to' holds an invalid address")
        }
        guard let subject = message["subject"].stringValue, !subject.contains("\n") else {
            throw call.argumentError(1, "field 'subject' must be one line")
        }
        let body = message["body"].stringValue ?? ""
        var headers = "To: \(recipients.joined(separator: ", "))\nSubject: \(subject)\n"
        if let from = message["from"].stringValue {
            guard ArgumentValidator.isEmail(from) else { throw call.argumentError(1, "field 'from' is not an address") }
            headers += "From: \(from)\n"
        }
        headers += "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
        try session.perform(SendMail(sendmail: session.config.sendmail, to: recipients, subject: subject,
                                     message: Array((headers + body).utf8)))
        return 0
    }
}
