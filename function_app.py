"""Azure Functions entry point (Python v2 model): registers one Blueprint per handler module.

Service Bus triggers use the identity-based connection `ServiceBusConnection`
(`ServiceBusConnection__fullyQualifiedNamespace`, `__credential=managedidentity`, `__clientId`); never keys.
"""

import azure.functions as func

from handlers import discovery, intake, provision, reconcile, route_event

app = func.FunctionApp()
for handler in (route_event, provision, discovery, reconcile, intake):
    app.register_functions(handler.bp)
