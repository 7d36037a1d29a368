ALTER TABLE "events" DROP CONSTRAINT "events_message_id_messages_id_fk";
--> statement-breakpoint
ALTER TABLE "events" DROP CONSTRAINT "events_customer_id_customers_id_fk";
