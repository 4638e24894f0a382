"""reaction"""
