// Operations view of ppmi: the Application Insights workbook and the log alert rules, with an optional e-mail action group.
// Every query lives in queries/*.kql; the workbook embeds the same text and the alerts load it from there.
param location string

@description('Resource ID of the workspace-based Application Insights component that receives ppmi telemetry.')
param applicationInsightsId string

@description('Resource ID of the Log Analytics workspace behind Application Insights; the queries read the Application Insights tables, so it only documents where the data lives.')
#disable-next-line no-unused-params
param logAnalyticsWorkspaceId string

@description('Who receives alert e-mails. Empty: the alert rules fire without notifying anyone.')
param actionGroupEmail string

param tags object

@description('Alert when more than this percentage of settled messages failed within 15 minutes.')
@minValue(1)
@maxValue(100)
param failureRatePercent int = 10

@description('Alert when an identity holds more than this percentage of its 20 federated identity credentials.')
@minValue(1)
@maxValue(100)
param capacityPercent int = 90

var suffix = uniqueString(applicationInsightsId)

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsightsId, 'ppmi-operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'ppmi operations'
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: string(union(loadJsonContent('workbook.json'), { fallbackResourceIds: [applicationInsightsId] }))
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(actionGroupEmail)) {
  name: 'ag-ppmi-${suffix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'ppmi'
    enabled: true
    emailReceivers: [
      {
        name: 'ppmi-operators'
        emailAddress: actionGroupEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var alerts = [
  {
    key: 'kept-messages'
    displayName: 'ppmi: messages kept for review'
    description: 'A message was dead-lettered with its reason (invalid input, permanent failure, or out of attempts). Open the workbook, section Kept messages.'
    severity: 2
    windowSize: 'PT5M'
    query: loadTextContent('queries/alert-kept-messages.kql')
    timeAggregation: 'Total'
    metricMeasureColumn: 'kept'
    threshold: 0
    dimensions: [ { name: 'reason_class', operator: 'Include', values: [ '*' ] } ]
  }
  {
    key: 'failure-rate'
    displayName: 'ppmi: failure rate above ${failureRatePercent} %'
    description: 'Too many messages end as failed. Open the workbook, sections Failures by reason and Dependency health.'
    severity: 1
    windowSize: 'PT15M'
    query: loadTextContent('queries/alert-failure-rate.kql')
    timeAggregation: 'Maximum'
    metricMeasureColumn: 'failure_percent'
    threshold: failureRatePercent
    dimensions: []
  }
  {
    key: 'identity-capacity'
    displayName: 'ppmi: identity above ${capacityPercent} % of its FIC cap'
    description: 'An identity is close to the hard limit of 20 federated identity credentials; new signers will be refused. Shard or remove unused signers.'
    severity: 2
    windowSize: 'PT1H'
    query: loadTextContent('queries/alert-identity-capacity.kql')
    timeAggregation: 'Maximum'
    metricMeasureColumn: 'used_percent'
    threshold: capacityPercent
    dimensions: [ { name: 'identity', operator: 'Include', values: [ '*' ] } ]
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for alert in alerts: {
    name: 'ppmi-${alert.key}-${suffix}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: alert.displayName
      description: alert.description
      severity: alert.severity
      enabled: true
      scopes: [ applicationInsightsId ]
      evaluationFrequency: 'PT5M'
      windowSize: alert.windowSize
      criteria: {
        allOf: [
          {
            query: alert.query
            timeAggregation: alert.timeAggregation
            metricMeasureColumn: alert.metricMeasureColumn
            operator: 'GreaterThan'
            threshold: alert.threshold
            dimensions: alert.dimensions
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: empty(actionGroupEmail) ? [] : [ actionGroup.id ]
      }
    }
  }
]

output workbookId string = workbook.id
output alertRuleIds array = [for (alert, i) in alerts: alertRules[i].id]
