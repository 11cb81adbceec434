#!/usr/bin/python3
"""Fake ElevenLabs streaming TTS server: the ElevenLabs route of
fake_openai.py (POST /v1/text-to-speech/<voice>/stream?output_format=
pcm_16000 with xi-api-key; raw PCM16 16 kHz, chunked). Same options."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_openai  # noqa: E402

if __name__ == "__main__":
    fake_openai.main()
