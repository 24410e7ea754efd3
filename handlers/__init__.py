"""One module per message type: validate, plan, apply, report."""
