// The queues of the event flow. Every message ppmi sends has a deterministic ID (docs/operations.md), so
// duplicate detection turns the re-sends of a redelivered message into no-ops. Messages ppmi gives up on (with
// a reason) go to ppmi-kept; messages whose handler keeps crashing land in each queue's dead-letter sub-queue
// (<queue>/$DeadLetterQueue, reason MaxDeliveryCountExceeded). `ppmi requeue` re-drives both.
param name string
param location string
param tags object

@description('How long a queue remembers message IDs to drop duplicates (ISO 8601 duration).')
param duplicateDetectionWindow string

@description('Deliveries of a ppmi-work message before it is dead-lettered.')
param workMaxDeliveryCount int

@description('How long an unconsumed message lives before it is dead-lettered (ISO 8601 duration).')
param messageTimeToLive string = 'P14D'

@description('How long a kept message waits for an operator (ISO 8601 duration).')
param keptMessageTimeToLive string = 'P90D'

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard' }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

// Intake: publishers may resend; a resent event with the same message ID inside the window is dropped.
resource eventsQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: 'ppmi-events'
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    requiresSession: false
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
  }
}

// Work: SessionId = work session (pool, application, or subscription of dedicated identities), so writes
// to one identity never run concurrently and one process paces them.
resource workQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: 'ppmi-work'
  properties: {
    requiresSession: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    maxDeliveryCount: workMaxDeliveryCount
    lockDuration: 'PT1M'
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
  }
}

// Results: SessionId = the caller's reply session, so each caller reads only its own outcomes.
resource resultsQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: 'ppmi-results'
  properties: {
    requiresSession: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
  }
}

// Kept: rejected and failed messages with their reason, for an operator. Listing them with `ppmi requeue`
// abandons the ones it skips, which counts as a delivery: hence the generous delivery count.
resource keptQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: 'ppmi-kept'
  properties: {
    requiresSession: false
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    maxDeliveryCount: 100
    lockDuration: 'PT1M'
    defaultMessageTimeToLive: keptMessageTimeToLive
    deadLetteringOnMessageExpiration: true
  }
}

output name string = namespace.name
// serviceBusEndpoint is https://<host>:443/; the Functions connection wants the bare host.
output fullyQualifiedNamespace string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
