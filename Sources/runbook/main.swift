// The runbook executable: a thin shell over RunbookCLI.

import RunbookCLI

RunbookCommand.runMain()
