CREATE TABLE "sends_to_roll_up" (
	"message_id" bigint PRIMARY KEY NOT NULL
);
