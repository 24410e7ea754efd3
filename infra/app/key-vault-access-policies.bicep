// Lets the service keep the access policy entries of the identities it provisions in one key vault (policy:
// keyVaultAccessPolicies), through a custom role with only the two actions that needs: read the vault (its
// authorisation mode and entries) and write its access policies. The narrowest built-in role holding
// Microsoft.KeyVault/vaults/accessPolicies/write is Key Vault Contributor, whose Microsoft.KeyVault/* also
// lets it change or delete the vault (contracts/keyvault/azure-docs_built-in-roles-security.key-vault-
// contributor.excerpt.md), so it is not used.
targetScope = 'resourceGroup'

param appPrincipalId string

@description('Name of the vault, in this resource group.')
param vaultName string

@description('Name (GUID) of the custom role with Microsoft.KeyVault/vaults/read and accessPolicies/write; assignable in this subscription.')
param roleDefinitionName string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: vaultName
}

resource accessPolicyWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roleDefinitionName)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    description: 'ppmi: keep the access policy entries of the identities it provisions'
  }
}
