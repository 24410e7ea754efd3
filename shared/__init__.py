"""ppmi: managed identity for Dataverse plug-ins, provisioned automatically."""
