SELECT flow_claim_unique($1, $2, $3, $4::text) AS holder
