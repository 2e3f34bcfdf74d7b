# The "Full Example" of af-api.md, verbatim (test_full_example.py swaps the first three
# assignments for a local server's values).
API="https://api.automatedfuture.co/v1/test"
KEY="YOUR_API_KEY"
PROJECT="project_abc123"

# 1. Create a test run
RUN_ID=$(curl -s -X POST -H "Authorization: $KEY" \
  -H "Content-Type: application/json" \
  -d "{\"project_id\": \"$PROJECT\", \"label\": \"Manual run\"}" \
  "$API/run/" | jq -r '.test_run_id')

# 2. Create a test result
RESULT_ID=$(curl -s -X POST -H "Authorization: $KEY" \
  -H "Content-Type: application/json" \
  -d "{\"project_id\": \"$PROJECT\", \"test_run_id\": \"$RUN_ID\", \"test_name\": \"test_login\", \"status\": \"Passed\", \"execution_time_ms\": 420}" \
  "$API/result/" | jq -r '.test_result_id')

# 3. Upload a log artifact
ARTIFACT=$(curl -s -X POST -H "Authorization: $KEY" \
  -H "Content-Type: application/json" \
  -d "{\"test_result_id\": \"$RESULT_ID\", \"label\": \"output.log\", \"kind\": \"Log\", \"content_type\": \"text/plain\", \"size_bytes\": $(wc -c < output.log)}" \
  "$API/artifact/" )

UPLOAD_URL=$(echo "$ARTIFACT" | jq -r '.upload_url')
ART_ID=$(echo "$ARTIFACT" | jq -r '.artifact_id')

curl -X PUT -H "Content-Type: text/plain" --data-binary @output.log "$UPLOAD_URL"
curl -X POST -H "Authorization: $KEY" "$API/artifact/$ART_ID/confirm"

# 4. Complete the test run
curl -X POST -H "Authorization: $KEY" \
  -H "Content-Type: application/json" \
  -d '{"status": "Completed"}' \
  "$API/run/$RUN_ID"
