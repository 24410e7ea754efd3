// Role Based Access Control Administrator on a whole subscription, for policies whose grants span resource
// groups; limited by the same ABAC condition as the resource-group variant.
targetScope = 'subscription'

param appPrincipalId string

@description('ABAC condition (version 2.0) that restricts which role assignments may be written or deleted.')
param condition string

var roleBasedAccessControlAdministrator = 'f58310d9-a9f6-439a-9e8d-f62e7b41a168'

resource delegation 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, appPrincipalId, roleBasedAccessControlAdministrator)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleBasedAccessControlAdministrator)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'ppmi: grant the roles of its policy to the managed identities it provisions'
    condition: condition
    conditionVersion: '2.0'
  }
}
