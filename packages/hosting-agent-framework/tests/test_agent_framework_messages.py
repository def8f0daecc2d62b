"""Neutral items become Agent Framework messages; client tools become declaration-only tools."""

from __future__ import annotations

import base64

from hosting.agent_framework._messages import declaration_tools, to_agent_framework_messages, tool_names
from hosting.core import (
    FilePart,
    FunctionCall,
    FunctionResult,
    ImagePart,
    Message,
    Reasoning,
    TextPart,
    ToolSpec,
    assistant_message,
    user_message,
)


def test_roles_map_and_developer_becomes_system() -> None:
    messages = to_agent_framework_messages(
        [
            Message("developer", (TextPart("be brief"),)),
            Message("system", (TextPart("be kind"),)),
            user_message("hi"),
            assistant_message("hello"),
        ]
    )
    assert [(message.role, message.text) for message in messages] == [
        ("system", "be brief"),
        ("system", "be kind"),
        ("user", "hi"),
        ("assistant", "hello"),
    ]


def test_a_turn_with_reasoning_parallel_calls_and_results_is_one_assistant_and_one_tool_message() -> None:
    messages = to_agent_framework_messages(
        [
            user_message("weather in Paris and Rome?"),
            Reasoning("two cities"),
            FunctionCall("c1", "weather", '{"city": "Paris"}'),
            FunctionCall("c2", "weather", '{"city": "Rome"}'),
            FunctionResult("c1", "sunny"),
            FunctionResult("c2", "rainy"),
            assistant_message("Sunny and rainy."),
        ]
    )
    assert [message.role for message in messages] == ["user", "assistant", "tool", "assistant"]
    assistant, tool = messages[1], messages[2]
    assert [content.type for content in assistant.contents] == [
        "text_reasoning",
        "function_call",
        "function_call",
    ]
    assert assistant.contents[0].text == "two cities"
    assert [(c.call_id, c.name, c.arguments) for c in assistant.contents[1:]] == [
        ("c1", "weather", '{"city": "Paris"}'),
        ("c2", "weather", '{"city": "Rome"}'),
    ]
    assert [(c.type, c.call_id, c.result) for c in tool.contents] == [
        ("function_result", "c1", "sunny"),
        ("function_result", "c2", "rainy"),
    ]
    assert messages[3].text == "Sunny and rainy."


def test_reasoning_then_answer_text_is_one_assistant_message() -> None:
    messages = to_agent_framework_messages([Reasoning("hmm"), assistant_message("yes")])
    assert len(messages) == 1
    assert [content.type for content in messages[0].contents] == ["text_reasoning", "text"]


def test_two_user_messages_stay_separate_and_keep_their_ids() -> None:
    messages = to_agent_framework_messages([Message("user", (TextPart("a"),), id="msg_1"), user_message("b")])
    assert [(message.text, message.message_id) for message in messages] == [("a", "msg_1"), ("b", None)]


def test_images_and_files_become_uri_data_and_hosted_file_contents() -> None:
    pdf = base64.b64encode(b"%PDF-1.4").decode()
    (message,) = to_agent_framework_messages(
        [
            Message(
                "user",
                (
                    TextPart("look"),
                    ImagePart(url="https://example.test/cat.png"),
                    ImagePart(url="data:image/png;base64,iVBORw0KGgo="),
                    ImagePart(file_id="file_img"),
                    FilePart(file_id="file_doc", filename="doc.pdf"),
                    FilePart(data=pdf, filename="inline.pdf"),
                    FilePart(url="https://example.test/a.txt"),
                    ImagePart(),
                ),
            )
        ]
    )
    kinds = [(content.type, content.uri or content.file_id) for content in message.contents]
    assert kinds[0] == ("text", None)
    assert kinds[1] == ("uri", "https://example.test/cat.png")
    assert message.contents[2].type == "data"
    assert message.contents[2].media_type == "image/png"
    assert kinds[3] == ("hosted_file", "file_img")
    assert kinds[4] == ("hosted_file", "file_doc")
    assert message.contents[5].type == "data"
    assert message.contents[5].uri is not None
    assert pdf in message.contents[5].uri
    assert kinds[6] == ("uri", "https://example.test/a.txt")
    # An image with neither a URL nor a file id carries nothing: it is left out.
    assert len(message.contents) == 7


def test_a_function_call_without_arguments_sends_an_empty_object() -> None:
    (message,) = to_agent_framework_messages([FunctionCall("c1", "now", "")])
    assert message.contents[0].arguments == "{}"


def test_client_tools_are_declaration_only_with_their_schema() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    lookup, bare = declaration_tools([ToolSpec("lookup", "Look it up", schema), ToolSpec("ping")])
    assert lookup.name == "lookup"
    assert lookup.description == "Look it up"
    assert lookup.declaration_only
    assert lookup.parameters() == schema
    assert bare.declaration_only
    assert bare.parameters() == {"type": "object", "properties": {}}


def test_tool_names_reads_tools_functions_and_single_values() -> None:
    def helper() -> None:
        return None

    (declared,) = declaration_tools([ToolSpec("lookup")])
    assert tool_names([declared, helper]) == {"lookup", "helper"}
    assert tool_names(declared) == {"lookup"}
    assert tool_names(None) == set()
