// ppmi: one `azd up` deploys the Function App and everything it needs, secretless and least-privilege.
// Subscription scope so that the deployment can create the resource groups and grant rights outside its own group.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; with the subscription and location it seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region for every resource. Flex Consumption must be available there.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group for the app. Empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Resource group that holds the managed identities the service provisions (policy: identity.resourceGroup). Empty: <app resource group>-identities, so that the service cannot touch its own identity. May name the app resource group.')
param identityResourceGroupName string = ''

@description('Region of the identity resource group when it is created here. Empty: location.')
param identityResourceGroupLocation string = ''

@description('Role definition IDs (GUIDs) the policy grants to provisioned identities (policy: grants[].roles). The service may assign exactly these, to service principals only.')
param grantedRoleDefinitionIds array = []

@description('Scopes where the policy grants roles (policy: grants[].scope, resolved to the covering resource group or subscription): /subscriptions/<id> or /subscriptions/<id>/resourceGroups/<name>.')
param grantScopes array = []

@description('Key vaults (resource IDs) whose access policies the service keeps for the identities it provisions (policy: keyVaultAccessPolicies[].vault, filled in). Each must exist before `azd provision`.')
param keyVaultIds array = []

@description('File name of the policy shipped at the root of the app package.')
param policyFileName string = 'policy.yaml'

@description('How long each queue remembers message IDs to drop duplicates (ISO 8601 duration).')
param duplicateDetectionWindow string = 'PT10M'

@description('Deliveries of a ppmi-work message before Service Bus dead-letters it.')
@minValue(1)
param workMaxDeliveryCount int = 10

@description('Principal IDs (service principals of ALM pipelines) allowed to publish to ppmi-events and read ppmi-results.')
param eventPublisherPrincipalIds array = []

@description('Open the HTTP intake (POST /api/events, function key) to the internet. Off: the site takes no inbound traffic.')
param enableHttpIntake bool = false

@description('Maximum Flex Consumption instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Email address for alert notifications. Empty: alerts fire without notifications.')
param actionGroupEmail string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName, application: 'ppmi' }
var appResourceGroupName = empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
var identityGroupName = empty(identityResourceGroupName) ? '${appResourceGroupName}-identities' : identityResourceGroupName

// The service may create role assignments only for the roles the policy grants and only to service principals
// (the managed identities it provisions); it may delete only assignments of those roles. Two clauses because a
// write is judged on the request and a delete on the existing assignment.
var grantedRoleList = join(grantedRoleDefinitionIds, ', ')
var roleAssignmentDelegationCondition = '((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/write\'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${grantedRoleList}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {\'ServicePrincipal\'})) AND ((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/delete\'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${grantedRoleList}} AND @Resource[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {\'ServicePrincipal\'}))'

// '/subscriptions/<id>' splits into 3 segments, '/subscriptions/<id>/resourceGroups/<name>' into 5.
// With no granted roles there is nothing to delegate (and an empty GuidEquals set is not a valid condition).
// No index into the segments before the length is known: `&&` is not relied on to short-circuit. Parenthesised
// throughout so that no reader (or parser) has to know operator precedence.
var subscriptionScopes = filter(grantScopes, s => (length(split(s, '/')) == 3) && startsWith(toLower(s), '/subscriptions/'))
var resourceGroupScopes = filter(grantScopes, s => (length(split(s, '/')) == 5) && (startsWith(toLower(s), '/subscriptions/') && contains(toLower(s), '/resourcegroups/')))
var unrecognisedGrantScopes = filter(grantScopes, s => (!contains(subscriptionScopes, s)) && (!contains(resourceGroupScopes, s)))
var subscriptionGrantScopes = empty(grantedRoleDefinitionIds) ? [] : subscriptionScopes
var resourceGroupGrantScopes = empty(grantedRoleDefinitionIds) ? [] : resourceGroupScopes

resource appResourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: appResourceGroupName
  location: location
  tags: tags
}

resource identityResourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = if (identityGroupName != appResourceGroupName) {
  name: identityGroupName
  location: empty(identityResourceGroupLocation) ? location : identityResourceGroupLocation
  tags: tags
}

module appIdentity 'core/identity/user-assigned-identity.bicep' = {
  name: 'app-identity'
  scope: appResourceGroup
  params: {
    name: 'id-ppmi-${resourceToken}'
    location: location
    tags: tags
  }
}

module telemetry 'core/monitor/telemetry.bicep' = {
  name: 'telemetry'
  scope: appResourceGroup
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'core/storage/storage-account.bicep' = {
  name: 'storage'
  scope: appResourceGroup
  params: {
    name: 'stppmi${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package'
  }
}

module serviceBus 'core/messaging/service-bus.bicep' = {
  name: 'service-bus'
  scope: appResourceGroup
  params: {
    name: 'sb-ppmi-${resourceToken}'
    location: location
    tags: tags
    duplicateDetectionWindow: duplicateDetectionWindow
    workMaxDeliveryCount: workMaxDeliveryCount
  }
}

module appAccess 'app/app-access.bicep' = {
  name: 'app-access'
  scope: appResourceGroup
  params: {
    appPrincipalId: appIdentity.outputs.principalId
    storageAccountName: storage.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    applicationInsightsName: telemetry.outputs.applicationInsightsName
    eventPublisherPrincipalIds: eventPublisherPrincipalIds
  }
}

module functionApp 'core/host/function-app-flex.bicep' = {
  name: 'function-app'
  scope: appResourceGroup
  // The host starts as soon as the site exists: its data-plane roles must already be in place.
  dependsOn: [appAccess]
  params: {
    name: 'func-ppmi-${resourceToken}'
    planName: 'asp-${resourceToken}'
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    identityId: appIdentity.outputs.id
    identityClientId: appIdentity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: telemetry.outputs.applicationInsightsName
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    policyFileName: policyFileName
    grantScopes: grantScopes
    maximumInstanceCount: maximumInstanceCount
    enableHttpIntake: enableHttpIntake
  }
}

module identityContributor 'app/identity-contributor.bicep' = {
  name: 'identity-contributor'
  scope: resourceGroup(identityGroupName)
  dependsOn: [identityResourceGroup]
  params: {
    appPrincipalId: appIdentity.outputs.principalId
  }
}

module resourceGroupDelegations 'app/role-delegation-resource-group.bicep' = [
  for scope in resourceGroupGrantScopes: {
    name: 'role-delegation-${resourceToken}-${uniqueString(scope)}'
    scope: resourceGroup(split(scope, '/')[2], split(scope, '/')[4])
    params: {
      appPrincipalId: appIdentity.outputs.principalId
      condition: roleAssignmentDelegationCondition
    }
  }
]

module subscriptionDelegations 'app/role-delegation-subscription.bicep' = [
  for scope in subscriptionGrantScopes: {
    name: 'role-delegation-${resourceToken}-${uniqueString(scope)}'
    scope: subscription(split(scope, '/')[2])
    params: {
      appPrincipalId: appIdentity.outputs.principalId
      condition: roleAssignmentDelegationCondition
    }
  }
]

// Exactly the two actions access policy upkeep needs (Learn, Azure permissions for Security, Microsoft.KeyVault:
// contracts/keyvault/azure-docs_rbac-permissions-security.Microsoft.KeyVault-vaults.excerpt.md), assignable in
// the subscriptions of the vaults only.
var keyVaultSubscriptionList = [for vaultId in keyVaultIds: '/subscriptions/${split(vaultId, '/')[2]}']
var keyVaultSubscriptions = union(keyVaultSubscriptionList, [])

resource keyVaultAccessPolicyWriter 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(keyVaultIds)) {
  name: guid(subscription().id, environmentName, 'ppmi-key-vault-access-policy-writer')
  properties: {
    roleName: 'ppmi key vault access policy writer (${environmentName})'
    description: 'Read key vaults and write their access policies: what ppmi needs to keep its identities\' entries.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.KeyVault/vaults/read'
          'Microsoft.KeyVault/vaults/accessPolicies/write'
        ]
        notActions: []
      }
    ]
    assignableScopes: keyVaultSubscriptions
  }
}

module keyVaultAccess 'app/key-vault-access-policies.bicep' = [
  for vaultId in keyVaultIds: {
    name: 'kv-access-${resourceToken}-${uniqueString(vaultId)}'
    scope: resourceGroup(split(vaultId, '/')[2], split(vaultId, '/')[4])
    params: {
      appPrincipalId: appIdentity.outputs.principalId
      vaultName: last(split(vaultId, '/'))
      roleDefinitionName: keyVaultAccessPolicyWriter.name
    }
  }
]

module observability 'monitoring/observability.bicep' = {
  name: 'observability'
  scope: appResourceGroup
  params: {
    location: location
    applicationInsightsId: telemetry.outputs.applicationInsightsId
    logAnalyticsWorkspaceId: telemetry.outputs.logAnalyticsWorkspaceId
    actionGroupEmail: actionGroupEmail
    tags: tags
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = appResourceGroup.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output PPMI_APP_IDENTITY_CLIENT_ID string = appIdentity.outputs.clientId
output PPMI_APP_IDENTITY_PRINCIPAL_ID string = appIdentity.outputs.principalId
output PPMI_IDENTITY_RESOURCE_GROUP string = identityGroupName
output SERVICEBUS_FULLY_QUALIFIED_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output PPMI_UNRECOGNISED_GRANT_SCOPES array = unrecognisedGrantScopes
