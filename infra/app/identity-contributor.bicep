// Lets the service create, update and delete the managed identities (and their federated credentials) it
// provisions, in this resource group only.
targetScope = 'resourceGroup'

param appPrincipalId string

var managedIdentityContributor = 'e40ec5ca-96e0-45a2-b4ff-59039f2c2b59'

resource identityContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, appPrincipalId, managedIdentityContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', managedIdentityContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}
