"""The one language table: the codes Whisper knows (ISO 639-1, plus ``haw`` and ``yue``) and their names.

Everything that checks or names a language uses it: the upload's ``language`` check
(:func:`is_whisper_language`), the OpenAI-compatible ``verbose_json`` (:func:`language_name`, Whisper's
lower-case English name), and the LLM prompts of the correction and the summary (:func:`display_name`,
``"German"``). It is faster-whisper's tokenizer list (100 codes), kept here so that naming a language needs
no model library.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "display_name", "is_whisper_language", "language_name", "whisper_languages"]

# Whisper's language table (openai/whisper, whisper/tokenizer.py LANGUAGES): ISO code -> English name.
_LANGUAGE_TABLE = (
    "en:english zh:chinese de:german es:spanish ru:russian ko:korean fr:french ja:japanese pt:portuguese "
    "tr:turkish pl:polish ca:catalan nl:dutch ar:arabic sv:swedish it:italian id:indonesian hi:hindi "
    "fi:finnish vi:vietnamese he:hebrew uk:ukrainian el:greek ms:malay cs:czech ro:romanian da:danish "
    "hu:hungarian ta:tamil no:norwegian th:thai ur:urdu hr:croatian bg:bulgarian lt:lithuanian la:latin "
    "mi:maori ml:malayalam cy:welsh sk:slovak te:telugu fa:persian lv:latvian bn:bengali sr:serbian "
    "az:azerbaijani sl:slovenian kn:kannada et:estonian mk:macedonian br:breton eu:basque is:icelandic "
    "hy:armenian ne:nepali mn:mongolian bs:bosnian kk:kazakh sq:albanian sw:swahili gl:galician "
    "mr:marathi pa:punjabi si:sinhala km:khmer sn:shona yo:yoruba so:somali af:afrikaans oc:occitan "
    "ka:georgian be:belarusian tg:tajik sd:sindhi gu:gujarati am:amharic yi:yiddish lo:lao uz:uzbek "
    "fo:faroese ht:haitian_creole ps:pashto tk:turkmen nn:nynorsk mt:maltese sa:sanskrit "
    "lb:luxembourgish my:myanmar bo:tibetan tl:tagalog mg:malagasy as:assamese tt:tatar haw:hawaiian "
    "ln:lingala ha:hausa ba:bashkir jw:javanese su:sundanese yue:cantonese"
)

#: Whisper's languages: code -> lower-case English name (``"en"`` -> ``"english"``), in Whisper's order.
LANGUAGES: dict[str, str] = dict(p.replace("_", " ").split(":", 1) for p in _LANGUAGE_TABLE.split())


def whisper_languages() -> frozenset[str]:
    """The language codes Whisper knows (100)."""
    return frozenset(LANGUAGES)


def is_whisper_language(code: str) -> bool:
    return code in LANGUAGES


def language_name(code: str | None) -> str | None:
    """Whisper's English name of a code (``"en"`` -> ``"english"``); unknown codes as given."""
    if code is None:
        return None
    return LANGUAGES.get(code, code)


def display_name(code: str | None) -> str | None:
    """The name for a sentence such as a prompt (``"de"`` -> ``"German"``, ``"ht"`` -> ``"Haitian Creole"``);
    unknown codes as given, None for none."""
    if not code:
        return None
    name = LANGUAGES.get(code.lower())
    return name.title() if name is not None else code
