// Data-plane roles of the app's identity inside its own resource group, each on the narrowest resource.
param appPrincipalId string
param storageAccountName string
param serviceBusNamespaceName string
param applicationInsightsName string

@description('Service principals of ALM pipelines: may send to ppmi-events and receive from ppmi-results.')
param eventPublisherPrincipalIds array

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource eventsQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: 'ppmi-events'
}

resource workQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: 'ppmi-work'
}

resource resultsQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: 'ppmi-results'
}

resource keptQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: 'ppmi-kept'
}

// Flex keeps host state and the deployment package in blobs only (no blob trigger, no Durable Functions), so
// Queue and Table data roles are not granted.
resource storageBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The two trigger queues: route_event and provision receive; timers, the HTTP intake, route_event and retries
// send. Data Owner (receive, send and manage), because the platform's target-based scaling reads the queue's
// length through the app's own connection, and that read needs the Manage right: the Service Bus extension's
// target scaler calls GetQueueRuntimePropertiesAsync and, refused, falls back to incremental scaling
// (Azure/azure-sdk-for-net, Microsoft.Azure.WebJobs.Extensions.ServiceBus/src/Listeners/ServiceBusTargetScaler.cs,
// ServiceBusMetricsProvider.cs; learn.microsoft.com/azure/azure-functions/functions-target-based-scaling, "use
// Manage rights ... for the most efficient scaling"). Among the built-in roles only Data Owner grants it
// (dataActions Microsoft.ServiceBus/*); it is scoped to each queue, not the namespace.
resource eventsOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventsQueue.id, appPrincipalId, roles.serviceBusDataOwner)
  scope: eventsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workQueue.id, appPrincipalId, roles.serviceBusDataOwner)
  scope: workQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Results and kept messages are only ever sent.

resource resultsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resultsQueue.id, appPrincipalId, roles.serviceBusDataSender)
  scope: resultsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource keptSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keptQueue.id, appPrincipalId, roles.serviceBusDataSender)
  scope: keptQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource publisherSenders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in eventPublisherPrincipalIds: {
    name: guid(eventsQueue.id, principalId, roles.serviceBusDataSender)
    scope: eventsQueue
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource publisherResultReceivers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in eventPublisherPrincipalIds: {
    name: guid(resultsQueue.id, principalId, roles.serviceBusDataReceiver)
    scope: resultsQueue
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]
