ALTER TABLE "order_items" DROP CONSTRAINT "order_items_product_id_products_id_fk";
