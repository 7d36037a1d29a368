-- The pair counts are a serialised hash table of typed arrays (tens of MB on a large shop):
-- random bits that compression cannot shrink, so trying costs each `recs build` time and
-- saves nothing. Stored out of line, uncompressed.
ALTER TABLE "copurchase_state" ALTER COLUMN "counts" SET STORAGE EXTERNAL;
