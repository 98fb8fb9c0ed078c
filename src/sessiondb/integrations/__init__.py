"""Drop-in session stores for agent frameworks, each a thin module over the public API.

* ``sessiondb.integrations.openai_agents``: ``SessionDBSession`` (OpenAI Agents SDK
  ``Session``), extra ``sessiondb[openai-agents]``;
* ``sessiondb.integrations.langchain``: ``SessionDBChatMessageHistory`` (LangChain
  ``BaseChatMessageHistory``), extra ``sessiondb[langchain]``;
* ``sessiondb.integrations.adk``: ``SessionDBSessionService`` (Google ADK
  ``BaseSessionService``), extra ``sessiondb[adk]``.

Nothing is imported here, so ``import sessiondb`` never needs a framework installed.
"""
