//! The route queue as AWS runs it: an SQS FIFO queue (content-based deduplication, one
//! message group, a FIFO dead-letter queue after 5 receives) on the emulator, filled the way
//! EventBridge's SQS target fills it (`MessageGroupId` set), and drained the way Lambda's
//! event source mapping drains one message group: at most 10 messages a batch, in order,
//! the next batch only once the previous one was answered; a batch answered Ok is deleted,
//! one answered Err comes back (visibility 0 here, so at once) and goes to the DLQ after
//! its fifth receive.

use aws_config::SdkConfig;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use serde_json::{json, Value};
use shared::config::ROUTE_MESSAGE_GROUP;
use shared::entry::{route_sync_payload_within, Outcome};
use shared::routes::{Budget, Report};
use shared::{App, RouteSyncConfig};

/// A FIFO route queue and its dead-letter queue.
pub struct RouteQueue {
    sqs: aws_sdk_sqs::Client,
    /// The queue's URL (`FRONTDOOR_ROUTE_QUEUE_URL`).
    pub url: String,
    arn: String,
    dlq_url: String,
}

impl RouteQueue {
    /// Creates both queues in the hub.
    pub async fn create(sdk: &SdkConfig) -> RouteQueue {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let dlq = sqs
            .create_queue()
            .queue_name("frontdoor-routes-dlq.fifo")
            .attributes(QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .expect("CreateQueue dlq");
        let dlq_url = dlq.queue_url().expect("url").to_string();
        let dlq_arn = attribute(&sqs, &dlq_url, QueueAttributeName::QueueArn).await;
        let queue = sqs
            .create_queue()
            .queue_name("frontdoor-routes.fifo")
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
            .attributes(QueueAttributeName::VisibilityTimeout, "0")
            .attributes(
                QueueAttributeName::RedrivePolicy,
                json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}).to_string(),
            )
            .send()
            .await
            .expect("CreateQueue");
        let url = queue.queue_url().expect("url").to_string();
        let arn = attribute(&sqs, &url, QueueAttributeName::QueueArn).await;
        RouteQueue {
            sqs,
            url,
            arn,
            dlq_url,
        }
    }

    /// Sends one EventBridge event as the rule's SQS target does.
    pub async fn send(&self, event: &Value) {
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(event.to_string())
            .message_group_id(ROUTE_MESSAGE_GROUP)
            .send()
            .await
            .expect("SendMessage");
    }

    /// Sends many events, ten per SendMessageBatch (as EventBridge delivers a burst).
    pub async fn send_all(&self, events: &[Value]) {
        for chunk in events.chunks(10) {
            let entries: Vec<SendMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("e{i}"))
                        .message_body(e.to_string())
                        .message_group_id(ROUTE_MESSAGE_GROUP)
                        .build()
                        .expect("entry")
                })
                .collect();
            self.sqs
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .expect("SendMessageBatch");
        }
    }

    /// Puts a message straight into the dead-letter queue (a poison event, for the doctor).
    pub async fn send_to_dead_letters(&self, body: &Value) {
        self.sqs
            .send_message()
            .queue_url(&self.dlq_url)
            .message_body(body.to_string())
            .message_group_id(ROUTE_MESSAGE_GROUP)
            .message_deduplication_id("poison")
            .send()
            .await
            .expect("SendMessage dlq");
    }

    /// Messages waiting in the dead-letter queue.
    pub async fn dead_letters(&self) -> usize {
        attribute(
            &self.sqs,
            &self.dlq_url,
            QueueAttributeName::ApproximateNumberOfMessages,
        )
        .await
        .parse()
        .unwrap_or(usize::MAX)
    }

    /// Drains the queue through `app` as the event source mapping would, at most
    /// `max_batches` batches; returns each reconcile's report.
    pub async fn drain(&self, app: &App<RouteSyncConfig>, max_batches: usize) -> Vec<Report> {
        self.drain_within(app, max_batches, Budget::unlimited).await
    }

    /// [`RouteQueue::drain`], each batch within a budget of its own (`budget()` per batch,
    /// as each invocation has its own deadline).
    pub async fn drain_within(
        &self,
        app: &App<RouteSyncConfig>,
        max_batches: usize,
        budget: impl Fn() -> Budget,
    ) -> Vec<Report> {
        let mut reports = Vec::new();
        for _ in 0..max_batches {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .expect("ReceiveMessage");
            let messages = got.messages();
            if messages.is_empty() {
                return reports;
            }
            let records: Vec<Value> = messages
                .iter()
                .map(|m| {
                    json!({
                        "messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                        "body": m.body(), "eventSource": "aws:sqs",
                        "eventSourceARN": self.arn, "awsRegion": crate::REGION,
                        "attributes": {"MessageGroupId": ROUTE_MESSAGE_GROUP},
                    })
                })
                .collect();
            // A batch answered Err is not deleted: with visibility 0 it is received again.
            let payload = json!({ "Records": records });
            if let Ok(outcome) = route_sync_payload_within(app, &payload, &budget()).await {
                if let Outcome::Reconciled(report) = outcome {
                    reports.push(report);
                }
                let entries: Vec<DeleteMessageBatchRequestEntry> = messages
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        DeleteMessageBatchRequestEntry::builder()
                            .id(format!("m{i}"))
                            .receipt_handle(m.receipt_handle().unwrap_or_default())
                            .build()
                            .expect("entry")
                    })
                    .collect();
                self.sqs
                    .delete_message_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .expect("DeleteMessageBatch");
            }
        }
        reports
    }
}

async fn attribute(sqs: &aws_sdk_sqs::Client, url: &str, name: QueueAttributeName) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .and_then(|a| a.get(&name))
        .cloned()
        .unwrap_or_default()
}
