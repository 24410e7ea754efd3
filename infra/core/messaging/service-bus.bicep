// The three queues of the event flow. Kept messages (rejected input, exhausted retries) live in each queue's
// dead-letter sub-queue (<queue>/$DeadLetterQueue), where an operator can inspect and re-drive them.
param name string
param location string
param tags object

@description('How long ppmi-events remembers message IDs to drop duplicates (ISO 8601 duration).')
param eventDuplicateDetectionWindow string

@description('Deliveries of a ppmi-work message before it is dead-lettered.')
param workMaxDeliveryCount int

@description('How long an unconsumed message lives before it is dead-lettered (ISO 8601 duration).')
param messageTimeToLive string = 'P14D'

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
    duplicateDetectionHistoryTimeWindow: eventDuplicateDetectionWindow
    requiresSession: false
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
  }
}

// Work: SessionId = identity key, so writes to one identity never run concurrently. No duplicate detection:
// a retry is a scheduled copy that keeps the original message ID.
resource workQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: 'ppmi-work'
  properties: {
    requiresSession: true
    requiresDuplicateDetection: false
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
    requiresDuplicateDetection: false
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
  }
}

output name string = namespace.name
// serviceBusEndpoint is https://<host>:443/; the Functions connection wants the bare host.
output fullyQualifiedNamespace string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
output eventsQueueName string = eventsQueue.name
output workQueueName string = workQueue.name
output resultsQueueName string = resultsQueue.name
