ALTER TABLE "copurchase_pairs" DROP CONSTRAINT "copurchase_pairs_product_id_products_id_fk";
--> statement-breakpoint
ALTER TABLE "copurchase_pairs" DROP CONSTRAINT "copurchase_pairs_related_product_id_products_id_fk";
--> statement-breakpoint
ALTER TABLE "copurchase_products" DROP CONSTRAINT "copurchase_products_product_id_products_id_fk";
