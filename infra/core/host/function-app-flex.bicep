// Flex Consumption Function App (Python 3.13) running as its user-assigned identity. Every connection is
// identity-based: no key, SAS or connection string with a secret is ever written to its settings.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param serviceBusFullyQualifiedNamespace string
param policyFileName string
@description('Subscriptions and resource groups where the app may assign roles (the azd parameter PPMI_GRANT_SCOPES).')
param grantScopes array = []
param maximumInstanceCount int

@description('Open the HTTP intake to inbound traffic; otherwise the main site denies all of it.')
param enableHttpIntake bool

@description('Memory per instance (MB).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: queue-driven work survives an instance or zone loss (messages stay in Service Bus); zone-redundant Flex is not offered in every region (docs/deploy.md).
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: azd deploys through the SCM endpoint; the main site denies all inbound traffic unless the optional HTTP intake is enabled (docs/deploy.md).
  // checkov:skip=CKV_AZURE_17: the only HTTP endpoint is the optional intake, authenticated by function key and optionally Entra; no caller holds a client certificate (docs/deploy.md).
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero on queue length; messages wait in Service Bus meanwhile (docs/deploy.md).
  // checkov:skip=CKV_AZURE_213: the work is queue-driven; a health probe path would say nothing about it (docs/deploy.md).
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Service Bus and timer triggers need no inbound traffic; only the optional HTTP intake does. The SCM
      // site keeps its own rules because azd deploys through it, authenticated with Entra tokens.
      ipSecurityRestrictionsDefaultAction: enableHttpIntake ? 'Allow' : 'Deny'
      scmIpSecurityRestrictionsUseMain: false
      scmIpSecurityRestrictionsDefaultAction: 'Allow'
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        { name: 'ServiceBusConnection__fullyQualifiedNamespace', value: serviceBusFullyQualifiedNamespace }
        { name: 'ServiceBusConnection__credential', value: 'managedidentity' }
        { name: 'ServiceBusConnection__clientId', value: identityClientId }
        // The connection string only says where to send telemetry; ingestion is authorised by the identity.
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD;ClientId=${identityClientId}' }
        { name: 'AZURE_CLIENT_ID', value: identityClientId }
        // The package is mounted at /home/site/wwwroot; the policy ships at its root.
        { name: 'PPMI_POLICY_FILE', value: '/home/site/wwwroot/${policyFileName}' }
        // Where the deployment lets the app assign roles: ppmi also looks there for grants the policy dropped.
        { name: 'PPMI_GRANT_SCOPES', value: string(grantScopes) }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: { name: 'python', version: '3.13' }
    }
  }
}

// Deployment goes through azd with Entra tokens; publishing profiles (user/password) stay off.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: { allow: false }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: { allow: false }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
