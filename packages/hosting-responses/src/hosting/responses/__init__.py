"""hosting.responses: the OpenAI Responses API as a channel."""
