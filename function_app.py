"""Azure Functions entry point (Python v2 model): registers one Blueprint per handler module."""

import azure.functions as func

app = func.FunctionApp()
